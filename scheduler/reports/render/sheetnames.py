"""Worksheet names Excel accepts, made from ward names (which are anyone's text)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_UNITS = 31  # Excel's limit, in UTF-16 code units
_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
RESERVED = ("history",)  # Excel keeps "History" for itself
FALLBACK = "Phường, xã"


class SheetNames:
    """Hand out unique, valid sheet names (Excel compares them ignoring case)."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken = {_key(name) for name in (*RESERVED, *taken)}

    def claim(self, wanted: str) -> str:
        """Return a valid name close to `wanted` that no earlier claim holds."""
        base = _valid(wanted) or FALLBACK
        name, number = base, 1
        while _key(name) in self._taken:
            number += 1
            name = _valid(_fit(base, MAX_UNITS - len(f" ({number})")) + f" ({number})")
        self._taken.add(_key(name))
        return name


def _valid(text: str) -> str:
    """Drop what Excel refuses in a sheet name: []:*?/\\, control characters, a leading or
    trailing apostrophe, more than 31 UTF-16 units."""
    text = unicodedata.normalize("NFC", text)  # decomposed Vietnamese takes twice the room
    text = _FORBIDDEN.sub("-", text)
    text = "".join(" " if unicodedata.category(char)[0] == "C" else char for char in text)
    text = " ".join(text.split())
    return _fit(text, MAX_UNITS).strip(" '")


def _fit(text: str, units: int) -> str:
    """Cut text to at most `units` UTF-16 code units, never inside a character."""
    out, used = [], 0
    for char in text.strip(" '"):
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > units:
            break
        out.append(char)
        used += size
    return "".join(out).rstrip(" '")


def _key(name: str) -> str:
    return name.casefold()
