"""A bulletin's language chosen by name: "Ê Đê", "Ede" or "rad" all mean `rad`."""

from __future__ import annotations

from scheduler.bulletins.service import LANGUAGE_RE
from scheduler.catalogue import seeds
from scheduler.catalogue.matching import fold
from scheduler.errors import InvalidInput

# other names people use for a language wardcast lists
ALIASES: dict[str, tuple[str, ...]] = {
    "vi": ("Kinh", "Tiếng Kinh"), "rad": ("Ede", "Rade", "Êđê"), "jra": ("Gia Rai", "Jrai"),
    "bdq": ("Bahnar", "Bana"), "kpm": ("Koho", "K'Ho"), "hmn": ("Mông", "Hmông", "Mèo"),
    "blt": ("Thái Đen", "Black Tai"), "cjm": ("Chăm", "Cham"), "km": ("Khơ Me",),
    "zh": ("Hoa", "Tiếng Trung"), "sti": ("Stiêng",), "cmo": ("Mnông",),
}


class UnknownLanguage(InvalidInput):
    code = "unknown_language"


def _key(name: str) -> str:
    """A name folded for matching: no case, no diacritics (đ as d), letters and digits only."""
    return fold(name).replace(" ", "")


def _index() -> dict[str, str]:
    index: dict[str, str] = {}
    for code, names in seeds.LANGUAGES.items():
        for name in (*ALIASES.get(code, ()), *names, code):
            index.setdefault(_key(name), code)
    for code, (vi, en) in seeds.LANGUAGES.items():  # "Jrai (Gia Rai)" is also "Jrai"
        for name in (vi, en):
            index.setdefault(_key(name.split("(")[0]), code)
    return index


INDEX = _index()


def resolve(name: str) -> str:
    """The code of a language typed by its Vietnamese or English name; a code typed as such
    ("kdt": lower case, no spaces) for a language not listed."""
    code = INDEX.get(_key(name))
    if code is None and LANGUAGE_RE.match(name.strip()):
        return name.strip()
    if code is None:
        shown = name.strip()[:60]
        if not shown:
            raise UnknownLanguage("Cần chọn ngôn ngữ của bản tin — choose the bulletin's "
                                  "language", field="language")
        raise UnknownLanguage(f"Không có ngôn ngữ «{shown}» trong danh sách: hãy gõ vài chữ "
                              f"đầu rồi chọn một tên gợi ý (ví dụ: Ê Đê, Gia Rai, Ba Na) — "
                              f"unknown language name", field="language")
    return code
