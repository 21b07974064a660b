"""Tally months: from the report cut-off's day of one month, at local midnight, to the next.

Kept tallies are summed month by month, so a report's period is covered by its whole tally
months (the core, read from kept rows) and its edges (counted live).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from scheduler.reports.cutoffs import Cutoffs

LAST_DAY = 28  # every month has it: a cut-off on the 29th–31st starts tally months on the 28th


@dataclass(frozen=True)
class Months:
    """Where tally months begin: a day of the month at local midnight in a time zone."""

    timezone: str
    day: int

    @classmethod
    def of(cls, timezone: str, cutoffs: Cutoffs) -> Months:
        return cls(timezone, min(cutoffs.year_start[1], LAST_DAY))

    def start_of(self, moment: datetime) -> datetime:
        """The start (UTC) of the tally month that holds an instant."""
        local = moment.astimezone(ZoneInfo(self.timezone)).date()
        year, month = local.year, local.month
        if local.day < self.day:
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return self._midnight(year, month)

    def after(self, start: datetime) -> datetime:
        """The start of the tally month after the one that starts at `start`."""
        local = start.astimezone(ZoneInfo(self.timezone)).date()
        year, month = (local.year, local.month + 1) if local.month < 12 else (local.year + 1, 1)
        return self._midnight(year, month)

    def first_at_or_after(self, moment: datetime) -> datetime:
        start = self.start_of(moment)
        return start if start == moment else self.after(start)

    def between(self, first: datetime, before: datetime) -> list[datetime]:
        """The starts of the months from the one holding `first` to the last ending by
        `before` (a month start)."""
        found, start = [], self.start_of(first)
        while self.after(start) <= before:
            found.append(start)
            start = self.after(start)
        return found

    def core(self, start: datetime, end: datetime, before: datetime
             ) -> tuple[datetime, datetime] | None:
        """The whole tally months inside [start, end) that end by `before`, if any."""
        first = self.first_at_or_after(start)
        last = first
        while self.after(last) <= min(end, before):
            last = self.after(last)
        return (first, last) if last > first else None

    def _midnight(self, year: int, month: int) -> datetime:
        day = date(year, month, self.day)
        return datetime.combine(day, time(0), ZoneInfo(self.timezone)).astimezone(UTC)
