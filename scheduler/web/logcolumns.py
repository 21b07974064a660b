"""The columns of the playback log's files: the API's fields under their own names (scripts
read them), and beside them what people read, in one language: the station's name and ward,
the bulletin's title, language, topic and source by name, status, priority and reason in words,
the slot, start and end in the station's local time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, Literal, get_args

from scheduler.catalogue.names import Names, built_in
from scheduler.playbacks import reasons
from scheduler.playbacks.schemas import CSV_COLUMNS, PlaybackRead
from scheduler.web import i18n
from scheduler.web import reasons as reason_words
from scheduler.web.format import local
from scheduler.web.i18n import N_

# number: a number cell; text: a text cell (made safe); utc: an instant as ISO 8601 UTC text;
# local: an instant in the station's zone (an Excel date and time, dd/mm/yyyy hh:mm:ss)
Kind = Literal["number", "text", "utc", "local"]
Row = Mapping[Any, Any]  # a RowMapping of playbacks.log_batches


class Words:
    """What one export says in its reader's language; each label looked up once."""

    def __init__(self, lang: str, *, default_zone: str, names: Names | None = None) -> None:
        self.lang = i18n.pick(lang)
        self.names = names or built_in(self.lang)
        self.default_zone = default_zone
        self._words: dict[str, str] = {}
        self.reason = lru_cache(maxsize=4096)(self._reason)

    def word(self, msgid: str) -> str:
        if msgid not in self._words:
            self._words[msgid] = i18n.gettext(self.lang, msgid)
        return self._words[msgid]

    def zone(self, row: Row) -> str:
        return str(row["station_timezone"] or self.default_zone)

    def _reason(self, reason: str | None, zone: str) -> str:
        return reason_words.label(reason, zone=zone, lang=self.lang)


@dataclass(frozen=True)
class Column:
    key: str
    kind: Kind
    header: str | None = None  # a msgid; None: the key (the API's field names stay as they are)
    value: Callable[[Row, Words], object] | None = None  # None: the row's field of that key

    def reader(self, words: Words) -> Callable[[Row], object]:
        """Return what reads this column's value from a row, in these words."""
        if self.value is None:
            return itemgetter(self.key)
        value = self.value
        return lambda row: value(row, words)

    def title(self, words: Words) -> str:
        return self.key if self.header is None else words.word(self.header)


def _kind(annotation: Any) -> Kind:
    types = set(get_args(annotation)) or {annotation}
    return "utc" if datetime in types else "number" if int in types else "text"


def _local(field: str) -> Callable[[Row, Words], object]:
    def value(row: Row, words: Words) -> object:
        moment: datetime | None = row[field]
        return None if moment is None else local(moment, words.zone(row))
    return value


# the API's fields (GET /playbacks), under their names: what ?format=csv always gave
API_FIELDS = tuple(Column(name, _kind(PlaybackRead.model_fields[name].annotation))
                   for name in CSV_COLUMNS)
FOR_PEOPLE = (
    Column("scheduled_local", "local", N_("Scheduled (local time)"), _local("scheduled_at")),
    Column("station_name", "text", N_("Station"),
           lambda r, w: r["station_name"] or f"#{r['station_id']}"),
    Column("ward", "text", N_("Ward"), lambda r, w: r["ward"] or ""),
    Column("bulletin_title", "text", N_("Bulletin"),
           lambda r, w: r["bulletin_title"] or f"#{r['bulletin_id']}"),
    Column("language_name", "text", N_("Language"),
           lambda r, w: w.names.language(r["language"]) if r["language"] else ""),
    Column("topic_name", "text", N_("Topic"), lambda r, w: w.names.topic(r["topic"])),
    Column("source_name", "text", N_("Source"),
           lambda r, w: w.names.source(r["source"]) if r["source"] else ""),
    Column("priority_label", "text", N_("Priority (in words)"),
           lambda r, w: w.word(r["priority"])),
    Column("status_label", "text", N_("Status (in words)"), lambda r, w: w.word(r["status"])),
    Column("started_local", "local", N_("Started (local time)"), _local("started_at")),
    Column("finished_local", "local", N_("Finished (local time)"), _local("finished_at")),
    Column("reason_label", "text", N_("Reason (in words)"),
           lambda r, w: w.reason(r["reason"], w.zone(r))),
)
CODES = (
    Column("station_timezone", "text", N_("Time zone"), lambda r, w: w.zone(r)),
    Column("language", "text", N_("Language code"), lambda r, w: r["language"] or ""),
    Column("category", "text", N_("Category as entered"), lambda r, w: r["category"] or ""),
    Column("topic", "text", N_("Topic code"), lambda r, w: r["topic"] or ""),
    Column("source", "text", N_("Source code"), lambda r, w: r["source"] or ""),
    Column("reason_code", "text", N_("Reason code"),
           lambda r, w: reasons.code(r["reason"]) or ""),
)
# CSV: the API's fields first, where scripts find them by name or by position; XLSX, read by
# people: their columns first, the same API fields after them
CSV = API_FIELDS + FOR_PEOPLE + CODES
XLSX = FOR_PEOPLE + CODES + API_FIELDS
