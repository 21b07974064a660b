"""RFC 5545 recurrence, evaluated in a station's wall-clock time and returned as UTC.

The work per rule is bounded, whatever an editor types: a rule is expanded from the window
asked for (its DTSTART moved forward by whole periods, not walked from years ago), each window
yields at most a set number of occurrences, and dateutil's search for the next occurrence,
which walks days that match nothing up to the year 9999, is made to end soon after the window
(see `_calendar_shift`). New rules that never play, or that play more often than every
`MIN_SPACING` without ending soon, are refused (`check_rule`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from dateutil import parser
from dateutil.rrule import rrule, rrulestr

from scheduler.errors import InvalidInput

log = logging.getLogger(__name__)

MAX_OCCURRENCES_PER_WINDOW = 5000
# A station plays a few sessions a day; a rule firing more often than this is a drill or a
# test burst, allowed only when it ends within MAX_BURST plays (COUNT, UNTIL or `until`).
MIN_SPACING = timedelta(minutes=15)
MAX_BURST = 100
# COUNT rules cannot be moved forward (COUNT counts from DTSTART): their walk is this long.
MAX_COUNT = 1000
# A rule with no occurrence this many years from its start never plays in practice.
PROBE_YEARS = 8
# The Gregorian calendar is regular (a leap year every 4 years) from 1901 to 2099 and from
# 9901 to 9999: 28 years apart, years of such a stretch have the same days and weekdays.
_REGULAR = ((1901, 2099), (9901, 9999))
_LAST_YEAR = 9999

_STEPS = {"MINUTELY": timedelta(minutes=1), "HOURLY": timedelta(hours=1),
          "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}
_MONTHS = {"MONTHLY": 1, "YEARLY": 12}


def _body(text: str) -> str:
    body = text.strip()
    return body[6:] if body.upper().startswith("RRULE:") else body


def _parts(text: str) -> dict[str, str]:
    """The rule's NAME=VALUE parts, names in upper case (after rrulestr accepted it)."""
    pairs = (part.partition("=") for part in _body(text).split(";") if part)
    return {name.strip().upper(): value.strip() for name, _, value in pairs}


def parse_rule(text: str, *, dtstart: datetime) -> rrule:
    """Parse an RRULE (with or without the ``RRULE:`` prefix) for a naive wall-clock start."""
    body = _body(text)
    if not body or "\n" in body or ":" in body:
        raise InvalidInput("Quy tắc lặp không hợp lệ — recurrence must be one RRULE line "
                           "such as FREQ=DAILY;BYHOUR=6", field="recurrence")
    try:
        rule = rrulestr(body, dtstart=dtstart, ignoretz=True)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"Quy tắc lặp không hợp lệ — invalid RRULE: {exc}",
                           field="recurrence") from exc
    if not isinstance(rule, rrule):
        raise InvalidInput("Quy tắc lặp không hợp lệ — invalid RRULE", field="recurrence")
    if _parts(body).get("FREQ") == "SECONDLY":
        raise InvalidInput("Không hỗ trợ lặp theo giây — FREQ=SECONDLY is not allowed",
                           field="recurrence")
    return rule


def check_rule(text: str, *, dtstart: datetime, not_before: datetime,
               until: datetime | None) -> None:
    """Refuse a rule too costly to plan: one that never plays, or plays too often for long.

    All times are naive wall-clock times; `until` is the timetable's own end, if any.
    """
    rule = parse_rule(text, dtstart=dtstart)
    count = _parts(text).get("COUNT")
    if count is not None and int(count) > MAX_COUNT:
        raise InvalidInput(f"COUNT tối đa {MAX_COUNT}; hãy dùng ngày kết thúc — COUNT may be "
                           f"at most {MAX_COUNT}: give an end date (UNTIL) instead",
                           field="recurrence")
    start = dtstart if count is not None else max(dtstart, not_before)
    end = _add_years(start, PROBE_YEARS)
    try:
        first = list(_walk(rule, text, dtstart=dtstart, lo=start, hi=min(end, until or end),
                           limit=MAX_BURST + 1))
    except ValueError as exc:  # dateutil finds some BYxxx/INTERVAL mixes empty while walking
        raise InvalidInput(f"Quy tắc lặp không bao giờ phát — the recurrence never plays: "
                           f"{exc}", field="recurrence") from exc
    if not first:
        raise InvalidInput(f"Quy tắc lặp không phát lần nào trong {PROBE_YEARS} năm tới — the "
                           f"recurrence never plays in the {PROBE_YEARS} years from its start",
                           field="recurrence")
    if len(first) > MAX_BURST and any(b - a < MIN_SPACING for a, b in pairwise(first)):
        minutes = int(MIN_SPACING.total_seconds() // 60)
        raise InvalidInput(
            f"Quy tắc lặp dày hơn {minutes} phút một lần chỉ được phát tối đa {MAX_BURST} lần "
            f"(đặt COUNT hoặc ngày kết thúc) — a recurrence that plays more often than every "
            f"{minutes} minutes must end within {MAX_BURST} plays (COUNT, UNTIL or until)",
            field="recurrence")


def local_start(*, starts_at: datetime, starts_at_local: str, floating: bool,
                zone: ZoneInfo) -> datetime:
    """Return the naive wall-clock start of a timetable in one station's zone."""
    if floating:
        return datetime.fromisoformat(starts_at_local)
    return starts_at.astimezone(zone).replace(tzinfo=None)


def to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """Turn a naive wall-clock time in a zone into an aware UTC instant."""
    return wall.replace(tzinfo=zone).astimezone(UTC)


def occurrences(*, wall_start: datetime, rule_text: str | None, zone: ZoneInfo,
                window_start: datetime, window_end: datetime, until: datetime | None,
                limit: int = MAX_OCCURRENCES_PER_WINDOW) -> list[datetime]:
    """Return the UTC instants of a timetable in [window_start, window_end] for one zone."""
    if until is not None:
        window_end = min(window_end, until)
    if rule_text is None:
        instant = to_utc(wall_start, zone)
        return [instant] if window_start <= instant <= window_end else []
    if window_end < window_start:
        return []
    rule = parse_rule(rule_text, dtstart=wall_start)
    # widen by a day in wall time so zone offsets never clip an occurrence, then filter in UTC
    lo = window_start.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    hi = window_end.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    found: list[datetime] = []
    try:
        for wall in _walk(rule, rule_text, dtstart=wall_start, lo=lo, hi=hi,
                          limit=None):
            instant = to_utc(wall, zone)
            if window_start <= instant <= window_end:
                found.append(instant)
                if len(found) >= limit:
                    log.warning("recurrence %r: stopped at %d occurrences in one window",
                                rule_text, limit)
                    break
    except ValueError as exc:  # a rule stored before check_rule existed
        log.warning("recurrence %r cannot be expanded: %s", rule_text, exc)
    return found


def _walk(rule: rrule, text: str, *, dtstart: datetime, lo: datetime, hi: datetime,
          limit: int | None) -> Iterator[datetime]:
    """Yield the rule's wall-clock occurrences in [lo, hi], at most limit, with bounded work."""
    parts = _parts(text)
    counted = "COUNT" in parts
    # rrule drops sub-second parts of DTSTART; so must the bounds
    start = dtstart.replace(microsecond=0)
    lo, hi = lo.replace(microsecond=0), hi.replace(microsecond=0)
    if not counted:
        start = _moved(start, parts, before=lo)
        if "UNTIL" in parts:
            hi = min(hi, parser.parse(parts["UNTIL"], ignoretz=True))
    lo = max(lo, start)
    if hi < lo:
        return
    shift = _calendar_shift(start.year, hi.year)
    budget: int | None = None
    if counted:  # COUNT counts from DTSTART; a rule stored before the cap stops at it
        walker, budget = rule.replace(dtstart=_shifted(start, shift)), MAX_COUNT
    else:
        walker = rule.replace(dtstart=_shifted(start, shift), until=_shifted(hi, shift))
    given = 0
    for seen, shifted_wall in enumerate(walker, start=1):
        wall = _shifted(shifted_wall, -shift)
        if wall > hi or (budget is not None and seen > budget):
            return
        if wall >= lo:
            yield wall
            given += 1
            if limit is not None and given >= limit:
                return


def _moved(start: datetime, parts: dict[str, str], *, before: datetime) -> datetime:
    """Move a start forward by whole periods of its rule to a period ending before `before`.

    The rule's phase is kept (same time of day, weekday, day of month and place in its
    INTERVAL), so the moved rule yields the same occurrences from `before` on; one period is
    kept in hand so that nothing at or after `before` is skipped.
    """
    if before <= start:
        return start
    freq, every = parts.get("FREQ", ""), int(parts.get("INTERVAL", "1") or 1)
    if freq in _STEPS:
        step = _STEPS[freq] * every
        periods = (before - start) // step - 1
        return start + step * periods if periods > 0 else start
    if freq in _MONTHS:
        step_months = _MONTHS[freq] * every
        elapsed = (before.year - start.year) * 12 + before.month - start.month
        # a start on the 29th-31st exists only in some months: try earlier periods
        for periods in range(elapsed // step_months - 1, max(elapsed // step_months - 49, 0),
                             -1):
            moved = _add_months(start, step_months * periods)
            if moved is not None:
                return moved
    return start


def _add_months(moment: datetime, months: int) -> datetime | None:
    year, month = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    try:
        return moment.replace(year=year, month=month + 1)
    except ValueError:
        return None


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=min(moment.year + years, _LAST_YEAR))
    except ValueError:  # 29 February
        return moment.replace(year=min(moment.year + years, _LAST_YEAR), day=28)


def _calendar_shift(first_year: int, last_year: int) -> int:
    """Return a number of years that moves [first_year, last_year] onto the same calendar at
    the end of the years Python can hold.

    dateutil looks for the next occurrence by walking forward until one matches or the year
    9999 ends, so a rule matching nothing (BYMONTH=2;BYMONTHDAY=30) walked 8,000 years of
    days. Walked years later on an identical calendar (same leap years, same weekdays), the
    same rule gives the same occurrences, and the walk ends within 28 years past the window.
    """
    span = last_year - first_year
    (low, high), (end_low, _) = _REGULAR
    if low <= first_year and last_year <= high:
        weekday = date(first_year, 1, 1).weekday()
        for target in range(_LAST_YEAR - span, end_low - 1, -1):
            if target % 4 == first_year % 4 and date(target, 1, 1).weekday() == weekday:
                return target - first_year
    # elsewhere (or over a longer span): the calendar repeats exactly every 400 years
    return max(_LAST_YEAR - last_year, 0) // 400 * 400


def _shifted(moment: datetime, years: int) -> datetime:
    return moment.replace(year=moment.year + years) if years else moment
