"""Where a report year and its halves begin: Decree 09/2019/NĐ-CP's data cut-offs by default.

Apart from periods.py so that the settings can check them without importing the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Cutoffs:
    """Where a report year and its second half begin, as (month, day) of the calendar."""

    year_start: tuple[int, int] = (12, 15)  # of the year before: 15/12/2025 opens "2026"
    half_start: tuple[int, int] = (6, 15)

    @classmethod
    def parse(cls, year_start: str, half_start: str) -> Cutoffs:
        """Read "MM-DD" settings."""
        return cls(month_day(year_start), month_day(half_start))

    def year(self, year: int) -> tuple[date, date]:
        """Return the first and last date of report year `year`."""
        month, day = self.year_start
        first = date(year - 1, month, day) if (month, day) != (1, 1) else date(year, 1, 1)
        return first, day_before(_same_day_next_year(first))

    def half(self, year: int, half: int) -> tuple[date, date]:
        """Return the first and last date of half 1 or 2 of report year `year`."""
        first, last = self.year(year)
        middle = date(year, *self.half_start)
        if not first < middle <= last:
            raise ValueError("the half-year cut-off must fall inside the report year")
        return (first, day_before(middle)) if half == 1 else (middle, last)

    def year_of(self, day: date) -> int:
        """Return the report year a local date belongs to."""
        first, last = self.year(day.year)
        if day > last:
            return day.year + 1
        return day.year if day >= first else day.year - 1


def month_day(text: str) -> tuple[int, int]:
    """Read a "MM-DD" day of the calendar (not 29/02), or raise ValueError."""
    try:
        month, day = (int(part) for part in text.split("-"))
        date(2001, month, day)  # not 29/02: it exists only in leap years
    except ValueError as exc:
        raise ValueError(f"expected MM-DD (e.g. 12-15), got {text!r}") from exc
    return month, day


def _same_day_next_year(day: date) -> date:
    return day.replace(year=day.year + 1)


def day_before(day: date) -> date:
    return day - timedelta(days=1)
