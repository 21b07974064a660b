"""Message catalogues (gettext .po read at run time with Babel) and the language choice."""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANGUAGE = "vi"
LANGUAGE_COOKIE = "wardcast_lang"

log = logging.getLogger(__name__)


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def read_catalog(lang: str) -> Catalog:
    """Parse one language's .po file."""
    with po_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang)


class Catalogued(Translations):
    """Translations that log, once each, a message their catalogue does not translate.

    A page shown with a message id nobody translated would show English in a Vietnamese page
    (or a msgid missing from the English one); the log line names it, and the page walk
    (tests/web/test_every_page_in_vietnamese.py) fails on it.
    """

    def __init__(self, fp: io.BytesIO, *, lang: str, known: frozenset[str]) -> None:
        super().__init__(fp=fp, domain="messages")
        self.lang = lang
        self.known = known
        self.reported: set[str] = set()

    def _check(self, message: str) -> None:
        if message and message not in self.known and message not in self.reported:
            self.reported.add(message)
            log.warning("untranslated message in %s: %r", self.lang, message)

    def gettext(self, message: str) -> str:
        self._check(message)
        return super().gettext(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        self._check(msgid1)
        return super().ngettext(msgid1, msgid2, n)


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> Catalogued:
    """Return the translations for a language, compiled in memory from its .po file."""
    # compiling in memory avoids committing .mo files that could drift from the .po
    catalog = read_catalog(lang)
    # English msgids are their own English; Vietnamese needs a translation
    known = frozenset(
        message.id if isinstance(message.id, str) else message.id[0] for message in catalog
        if message.id and (lang != DEFAULT_LANGUAGE or (message.string and not message.fuzzy)))
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Catalogued(buffer, lang=lang, known=known)


def pick(*candidates: str | None) -> str:
    """Return the first supported language among the candidates, else Vietnamese."""
    for candidate in candidates:
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


def gettext(lang: str, message: str) -> str:
    """Translate one message into a language."""
    return translations(pick(lang)).gettext(message)


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a message for extraction; it is translated later, when shown."""
    return message
