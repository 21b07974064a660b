"""Names for codes, in one reader's language: what reports, pages and files print."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from scheduler.catalogue import seeds

UNCATEGORISED_NAMES = {"vi": "Chưa phân loại", "en": "Uncategorised"}


@dataclass(frozen=True)
class Names:
    """Language, topic and source names by code; an unknown code reads as itself."""

    lang: str = "vi"
    languages: Mapping[str, str] = field(default_factory=dict)
    topics: Mapping[str, str] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    def language(self, code: str) -> str:
        return self.languages.get(code) or self.languages.get(code.split("-")[0]) or code

    def topic(self, code: str | None) -> str:
        return self.topics.get(code or "") or self._uncategorised(code)

    def source(self, code: str | None) -> str:
        """A source's name; a bulletin with none reads "Chưa phân loại"."""
        return self.sources.get(code or "") or self._uncategorised(code)

    def _uncategorised(self, code: str | None) -> str:
        return code or UNCATEGORISED_NAMES.get(self.lang, UNCATEGORISED_NAMES["en"])


def built_in(lang: str = "vi") -> Names:
    """The names wardcast ships with (an admin's own topics and sources come from the
    database, scheduler/catalogue/service.py)."""
    index = 0 if lang == "vi" else 1
    return Names(lang=lang,
                 languages={code: names[index] for code, names in seeds.LANGUAGES.items()},
                 topics={code: names[index] for code, names in seeds.TOPICS.items()},
                 sources={code: names[index] for code, names in seeds.SOURCES.items()})
