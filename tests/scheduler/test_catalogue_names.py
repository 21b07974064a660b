"""Codes read as names in the reader's language; unknown codes read as themselves."""

from __future__ import annotations

from scheduler.catalogue.names import built_in


def test_languages_topics_and_sources_by_name() -> None:
    vi, en = built_in("vi"), built_in("en")
    assert (vi.language("rad"), en.language("rad")) == ("Ê Đê", "Rade (Ê Đê)")
    assert vi.language("vi-VN") == "Tiếng Việt"  # a regional tag reads as its language
    assert vi.language("xyz") == "xyz"
    assert vi.topic("y-te") == "Y tế" and en.topic("y-te") == "Health"
    assert (vi.topic(""), en.topic("")) == ("Chưa phân loại", "Uncategorised")
    assert vi.source("tiep-am") == "Tiếp âm"
