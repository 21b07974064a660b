"""Report periods: six months and a year with the data cut-offs of Decree 09/2019/NĐ-CP, or
any dates; local dates in the city's time zone, turned into UTC instants at the edges.

By default a year's data runs from 15 December of the year before to 14 December, its first
half to 14 June; the cut-offs are settings (WARDCAST_REPORT_YEAR_START, _HALF_START).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduler.errors import InvalidInput
from scheduler.reports.cutoffs import Cutoffs

_PERIOD = re.compile(r"^(\d{4})(?:-(H1|H2))?$")
MAX_DAYS = 3 * 366  # a report covers at most three years


@dataclass(frozen=True)
class Period:
    """A span of local dates, both ends included, in a time zone."""

    first: date
    last: date
    timezone: str
    name: str | None = None  # "2026-H1", "2026"; None for any dates

    @property
    def start(self) -> datetime:
        """The first instant of the period (UTC)."""
        return _midnight(self.first, self.timezone)

    @property
    def end(self) -> datetime:
        """The instant just after the period (UTC)."""
        return _midnight(self.last + timedelta(days=1), self.timezone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self, cutoffs: Cutoffs) -> Period:
        """The period a report compares with: the half or year before, else as many days."""
        found = _PERIOD.match(self.name or "")
        if found:
            year, half = int(found.group(1)), found.group(2)
            if half == "H1":
                return named(f"{year - 1}-H2", timezone=self.timezone, cutoffs=cutoffs)
            if half == "H2":
                return named(f"{year}-H1", timezone=self.timezone, cutoffs=cutoffs)
            return named(str(year - 1), timezone=self.timezone, cutoffs=cutoffs)
        last = self.first - timedelta(days=1)
        return Period(last - timedelta(days=self.days - 1), last, self.timezone)

    def title(self, lang: str = "vi") -> str:
        """Name the period as a report's title does: "6 tháng đầu năm 2026", "Năm 2026"."""
        found = _PERIOD.match(self.name or "")
        if found and lang == "vi":
            year, half = found.group(1), found.group(2)
            return {"H1": f"6 tháng đầu năm {year}", "H2": f"6 tháng cuối năm {year}",
                    None: f"Năm {year}"}[half]
        if found:
            year, half = found.group(1), found.group(2)
            return {"H1": f"First half of {year}", "H2": f"Second half of {year}",
                    None: f"Year {year}"}[half]
        span = f"{self.first:%d/%m/%Y}", f"{self.last:%d/%m/%Y}"
        return f"Từ {span[0]} đến {span[1]}" if lang == "vi" else f"{span[0]} to {span[1]}"


def named(name: str, *, timezone: str, cutoffs: Cutoffs) -> Period:
    """Return the period "YYYY", "YYYY-H1" or "YYYY-H2", or raise InvalidInput."""
    found = _PERIOD.match(name.strip())
    if not found or not 2000 <= int(found.group(1)) <= 2999:
        raise InvalidInput(f"Kỳ báo cáo không hợp lệ: {name!r} (ví dụ 2026-H1, 2026-H2, 2026) "
                           "— period must be like 2026-H1, 2026-H2 or 2026", field="period")
    year, half = int(found.group(1)), found.group(2)
    first, last = cutoffs.half(year, 1 if half == "H1" else 2) if half else cutoffs.year(year)
    return Period(first, last, timezone, name=f"{year}-{half}" if half else str(year))


def between(first: date, last: date, *, timezone: str) -> Period:
    """Return the period from one local date to another, both included, or raise."""
    if last < first:
        raise InvalidInput("Ngày kết thúc trước ngày bắt đầu — `to` is before `from`",
                           field="to")
    if (last - first).days >= MAX_DAYS or first.year < 2000 or last.year > 2999:
        raise InvalidInput("Kỳ báo cáo dài quá 3 năm hoặc ngoài 2000–2999 — a report covers "
                           "at most three years, between 2000 and 2999", field="to")
    return Period(first, last, timezone)


def current_year(today: date, cutoffs: Cutoffs) -> int:
    """Return the report year a local date belongs to."""
    return cutoffs.year_of(today)


def current_half(today: date, *, timezone: str, cutoffs: Cutoffs) -> Period:
    """Return the six months a local date belongs to (a page's first report)."""
    year = current_year(today, cutoffs)
    first_half = named(f"{year}-H1", timezone=timezone, cutoffs=cutoffs)
    return first_half if today <= first_half.last else named(
        f"{year}-H2", timezone=timezone, cutoffs=cutoffs)


def choices(today: date, *, timezone: str, cutoffs: Cutoffs) -> list[Period]:
    """The periods a person picks from: each half and the whole of this report year and the
    one before, this year's first."""
    year = current_year(today, cutoffs)
    return [named(f"{each}{half}", timezone=timezone, cutoffs=cutoffs)
            for each in (year, year - 1) for half in ("-H1", "-H2", "")]


def _midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)
