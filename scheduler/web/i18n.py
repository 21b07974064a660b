"""Message catalogues (gettext .po read at run time with Babel) and the language choice."""

from __future__ import annotations

import io
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


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def read_catalog(lang: str) -> Catalog:
    """Parse one language's .po file."""
    with po_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang)


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> Translations:
    """Return the translations for a language, compiled in memory from its .po file."""
    # compiling in memory avoids committing .mo files that could drift from the .po
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(lang), use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain="messages")


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
