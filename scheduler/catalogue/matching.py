"""Compare words without case or diacritics; map a free-text category onto a topic."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from scheduler.catalogue import seeds

_WORD = re.compile(r"[0-9a-z]+")


def fold(text: str) -> str:
    """Lower-case words without diacritics, single-spaced: "Y Tế, Sức khoẻ" → "y te suc khoe"."""
    # đ is a letter of its own, not d with a mark: NFD leaves it whole
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return " ".join(_WORD.findall(bare.casefold()))


def slug(text: str) -> str:
    """A code made of a name: "Môi trường" → "moi-truong"."""
    return "-".join(fold(text).split())


def match_topic(category: str | None, topics: Mapping[str, tuple[str, str]]) -> str:
    """The topic a category names (its code, Vietnamese or English name, or a synonym of
    seeds.TOPIC_SYNONYMS), among `topics` (code → (Vietnamese, English)); else "Khác"."""
    wanted = fold(category or "")
    if not wanted:
        return seeds.OTHER_TOPIC
    for code, (name_vi, name_en) in topics.items():
        if wanted in (fold(code), fold(name_vi), fold(name_en)):
            return code
    for word, code in seeds.TOPIC_SYNONYMS.items():
        if wanted == fold(word) and code in topics:
            return code
    return seeds.OTHER_TOPIC
