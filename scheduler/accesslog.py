"""Keep secrets out of the access log: a query's token, a calendar feed's address, any token.

uvicorn logs every request line with its query string; an address that carries a credential
would leave it in log files that many more people read than may use it.
"""

from __future__ import annotations

import logging
import re

HIDDEN = "***"
ACCESS_LOGGER = "uvicorn.access"

_QUERY_SECRET = re.compile(
    r"(?i)([?&](?:token|access_token|api_key|apikey|key|secret|password)=)[^&#\s\"]*")
_FEED_ADDRESS = re.compile(r"(/feeds/)[^/?#\s\"]+(?=/calendar\.ics)")
# every token wardcast issues starts "wc" + a letter + "_" (wcu_, wca_, wcf_, station tokens)
_TOKEN = re.compile(r"\bwc[a-z]_[A-Za-z0-9_-]{8,}")


def redact(text: str) -> str:
    """Replace what may be a secret in a request line with ***."""
    text = _QUERY_SECRET.sub(rf"\g<1>{HIDDEN}", text)
    text = _FEED_ADDRESS.sub(rf"\g<1>{HIDDEN}", text)
    return _TOKEN.sub(lambda m: m.group(0)[:4] + HIDDEN, text)


class RedactSecrets(logging.Filter):
    """A logging filter that redacts a record's message and its string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Put the filter on uvicorn's access logger, once."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())
