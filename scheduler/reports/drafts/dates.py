"""When the scheduler drafts the reports: days of the year, each for the period whose deadline
follows it. By default 10 June drafts the six-month report (data to 14 June, due 15 June) and
10 December the year's (data to 14 December).

Apart from the job so that the settings can check the days without importing the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scheduler.reports.cutoffs import Cutoffs, month_day


@dataclass(frozen=True)
class Due:
    """A period whose drafts should exist, and the draft day that made it due."""

    period: str  # "2026-H1", "2026"
    drafted_on: date
    last: date  # the period's last day: after it a draft is of no use


@dataclass(frozen=True)
class DraftDates:
    """Days of the calendar (month, day) on which drafts are made."""

    days: tuple[tuple[int, int], ...] = ((6, 10), (12, 10))

    @classmethod
    def parse(cls, text: str, cutoffs: Cutoffs) -> DraftDates:
        """Read "MM-DD,MM-DD" ("" for none); refuse a day twice, or two days of one period."""
        days = [month_day(part.strip()) for part in text.split(",") if part.strip()]
        if len(set(days)) != len(days):
            raise ValueError(f"a day is given twice in {text!r}")
        found = cls(tuple(sorted(days)))
        found._check_periods(cutoffs)
        return found

    def due(self, today: date, cutoffs: Cutoffs) -> Due | None:
        """Return the period whose drafts should exist on a local date: that of the latest
        draft day on or before it, until the period's last day."""
        best: Due | None = None
        for month, day in self.days:
            for year in (today.year - 1, today.year):
                drafted_on = date(year, month, day)
                if drafted_on > today:
                    continue
                due = period_of(drafted_on, cutoffs)
                if today <= due.last and (best is None or drafted_on > best.drafted_on):
                    best = due
        return best

    def _check_periods(self, cutoffs: Cutoffs) -> None:
        """Raise ValueError if two days draft the same period (the second would never run)."""
        first, _ = cutoffs.year(2026)
        seen: dict[str, str] = {}
        for month, day in self.days:
            drafted_on = date(first.year, month, day)
            if drafted_on < first:
                drafted_on = date(first.year + 1, month, day)
            period = period_of(drafted_on, cutoffs).period
            given = f"{month:02d}-{day:02d}"
            if period in seen:
                raise ValueError(f"{seen[period]} and {given} both draft the report of "
                                 f"{period}: give one day a period")
            seen[period] = given


def period_of(day: date, cutoffs: Cutoffs) -> Due:
    """The period a draft made on a day is of: the six months when the day falls in the
    year's first half, else the year."""
    year = cutoffs.year_of(day)
    _, half_last = cutoffs.half(year, 1)
    if day <= half_last:
        return Due(f"{year}-H1", day, half_last)
    return Due(str(year), day, cutoffs.year(year)[1])
