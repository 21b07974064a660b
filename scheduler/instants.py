"""Instants and days wardcast can work with.

Python's datetime stops at years 1 and 9999: `9999-12-31T23:59:59-14:00` cannot even be turned
into UTC, and a day, a week, a horizon or a feed's month added to an instant near either end
overflows. Every date a request brings is kept a year inside those ends, so that whatever the
scheduler then does with it stays valid; anything else is refused as invalid input (422).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, WithJsonSchema

from scheduler.errors import InvalidInput, bilingual_error

FIRST_DAY = date(2, 1, 1)
LAST_DAY = date(9998, 12, 31)
_FIRST = datetime(FIRST_DAY.year, 1, 1)
_LAST = datetime(LAST_DAY.year, 12, 31, 23, 59, 59, 999999)

OUT_OF_RANGE = ("thời điểm nằm ngoài khoảng wardcast xử lý được (năm 2 đến năm 9998) — "
                "the date is outside the range wardcast works with (years 2 to 9998)")
NEEDS_ZONE = ("thời điểm cần múi giờ, ví dụ +07:00 hoặc Z — the date needs a UTC offset "
              "such as +07:00, or Z")


def within_range(value: datetime) -> bool:
    """Tell whether an instant (or a naive wall time) is within the years wardcast works with."""
    if value.tzinfo is None:
        return _FIRST <= value <= _LAST
    try:
        utc = value.astimezone(UTC).replace(tzinfo=None)
    except (OverflowError, ValueError):
        return False
    return _FIRST <= utc <= _LAST


def _in_range(value: datetime) -> datetime:
    if not within_range(value):
        raise bilingual_error("out_of_range", OUT_OF_RANGE)
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise bilingual_error("timezone_required", NEEDS_ZONE)
    return value


_RANGE = "years 2 to 9998 (after conversion to UTC)"

# A date-time a body or query may carry; without an offset it is a wall time (see its field).
Instant = Annotated[datetime, AfterValidator(_in_range),
                    WithJsonSchema({"type": "string", "format": "date-time",
                                    "description": f"ISO 8601, {_RANGE}"})]
# A date-time that names one instant: it must carry its offset (or Z).
AwareInstant = Annotated[datetime, AfterValidator(_aware), AfterValidator(_in_range),
                         WithJsonSchema({"type": "string", "format": "date-time",
                                         "description": f"ISO 8601 with an offset or Z, "
                                                        f"{_RANGE}"})]


def check_day(value: date, *, field: str) -> date:
    """Return a day a form gave, or refuse one outside the years wardcast works with."""
    if not FIRST_DAY <= value <= LAST_DAY:
        raise InvalidInput(f"Trường {field}: {OUT_OF_RANGE.replace(' — ', f' — {field}: ')}",
                           field=field, code="out_of_range")
    return value


def said_at(moment: datetime, zone: str) -> str:
    """An instant as people at a station read it: "06:00 01/12/2026" in its zone (the pages'
    order too: the time, then the day)."""
    return f"{moment.astimezone(ZoneInfo(zone)):%H:%M %d/%m/%Y}"


def said_day(day: date) -> str:
    """A day as people write it: "01/12/2026"."""
    return f"{day:%d/%m/%Y}"
