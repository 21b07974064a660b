"""The activity report as the Báo cáo page shows it: each figure in the reader's language and
number format, the change from the previous period (▲ 3, ▼ 1 giờ 5 phút), names for codes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from scheduler.catalogue.names import Names
from scheduler.reports.schemas import Figures, Outage
from scheduler.web import format as fmt
from scheduler.web import i18n, reasons
from scheduler.web.i18n import N_

Kind = Literal["count", "duration", "share"]
POINTS = N_("%(value)s points")  # a change of a share: percentage points


@dataclass(frozen=True)
class Column:
    """One figure of a Figures, as the page's tables list it."""

    key: str
    label: str  # a message id
    kind: Kind = "count"


# the statuses' labels are the pages' own words for them ("played": "Đã phát")
COLUMNS = (Column("planned", N_("Planned")), Column("played", "played"),
           Column("interrupted", "interrupted"), Column("missed", "missed"),
           Column("failed", "failed"), Column("skipped", "skipped"),
           Column("cancelled", "cancelled"), Column("open", N_("Not final yet")),
           Column("on_air_seconds", N_("Time on air"), "duration"),
           Column("bulletins", N_("Distinct bulletins")),
           Column("emergencies", N_("Emergency broadcasts")),
           Column("availability", N_("Availability"), "share"))


@dataclass(frozen=True)
class Change:
    """How a figure moved since the previous period."""

    direction: Literal["up", "down", "same"]
    arrow: str  # ▲ ▼ =
    text: str  # the difference, without a sign: the arrow says which way


@dataclass(frozen=True)
class Shown:
    text: str
    change: Change | None = None


class Reader:
    """Figures written for one reader: language, number format, the city's time zone."""

    def __init__(self, *, lang: str, zone: str, names: Names) -> None:
        self.lang = lang
        self.zone = zone
        self.names = names

    def value(self, figures: Figures, column: Column) -> str:
        return self.written(getattr(figures, column.key), column.kind)

    def written(self, value: float | None, kind: Kind) -> str:
        if value is None:
            return "—"
        if kind == "duration":
            return fmt.hours_minutes(value, lang=self.lang)
        if kind == "share":
            return fmt.percent(value, lang=self.lang)
        return fmt.number(value, lang=self.lang)

    def cell(self, figures: Figures, column: Column, before: Figures | None) -> Shown:
        """A figure and, when there is a previous period to compare with, its change."""
        now = getattr(figures, column.key)
        return Shown(self.written(now, column.kind), None if before is None else self.change(
            now, getattr(before, column.key), column.kind))

    def change(self, now: float | None, before: float | None, kind: Kind) -> Change | None:
        """The difference from the previous period, or None when either is unknown."""
        if now is None or before is None:
            return None
        difference = now - before
        if kind == "share":
            points = fmt.number(abs(difference) * 100, lang=self.lang, decimals=1)
            text = i18n.gettext(self.lang, POINTS) % {"value": points}
            same = points == fmt.number(0, lang=self.lang, decimals=1)
        else:
            text = self.written(abs(difference), kind)
            same = round(difference) == 0 if kind == "duration" else difference == 0
        if same:
            return Change("same", "=", "")
        return Change("up", "▲", text) if difference > 0 else Change("down", "▼", text)

    def outage(self, outage: Outage | None, zone: str | None = None) -> str:
        """The longest outage: "02/06/2026 11:59 – 03/06/2026 09:00 (21 giờ 1 phút)"."""
        if outage is None:
            return "—"
        where = zone or self.zone
        return (f"{fmt.minute(outage.start, zone=where)} – {fmt.minute(outage.end, zone=where)}"
                f" ({fmt.hours_minutes(outage.seconds, lang=self.lang)})")

    def amounts(self, seconds: Mapping[str, float],
                name: Callable[[str], str]) -> list[tuple[str, str, float]]:
        """(name, time on air, seconds) of each language or topic, the largest first."""
        rows = [(name(code), amount) for code, amount in seconds.items()]
        return [(label, fmt.hours_minutes(amount, lang=self.lang), amount)
                for label, amount in sorted(rows, key=lambda row: (-row[1], row[0]))]

    def languages(self, figures: Figures) -> list[tuple[str, str, float]]:
        return self.amounts(figures.by_language, self.names.language)

    def topics(self, figures: Figures) -> list[tuple[str, str, float]]:
        return self.amounts(figures.by_topic, self.names.topic)

    def reasons(self, figures: Figures) -> list[tuple[str, str]]:
        """(why, how many) of the missed and failed playbacks, the commonest first."""
        counted = [(reasons.grouped(key, lang=self.lang), count)
                   for key, count in figures.not_played_by_reason.items()]
        return [(label, fmt.number(count, lang=self.lang))
                for label, count in sorted(counted, key=lambda row: (-row[1], row[0]))]
