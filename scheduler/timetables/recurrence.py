"""RFC 5545 recurrence, evaluated in a station's wall-clock time and returned as UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from scheduler.errors import InvalidInput

MAX_OCCURRENCES_PER_WINDOW = 5000


def parse_rule(text: str, *, dtstart: datetime) -> rrule:
    """Parse an RRULE (with or without the ``RRULE:`` prefix) for a naive wall-clock start."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
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
    if "FREQ=SECONDLY" in body.upper():
        raise InvalidInput("Không hỗ trợ lặp theo giây — FREQ=SECONDLY is not allowed",
                           field="recurrence")
    return rule


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
                window_start: datetime, window_end: datetime,
                until: datetime | None) -> list[datetime]:
    """Return the UTC instants of a timetable in [window_start, window_end] for one zone."""
    if until is not None:
        window_end = min(window_end, until)
    if rule_text is None:
        instant = to_utc(wall_start, zone)
        return [instant] if window_start <= instant <= window_end else []
    rule = parse_rule(rule_text, dtstart=wall_start)
    # widen by a day in wall time so zone offsets never clip an occurrence, then filter in UTC
    lo = window_start.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    hi = window_end.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    found: list[datetime] = []
    # rrule drops sub-second parts of DTSTART; so must the lower bound
    for wall in rule.xafter(max(lo, wall_start.replace(microsecond=0)), inc=True):
        if wall > hi or len(found) >= MAX_OCCURRENCES_PER_WINDOW:
            break
        instant = to_utc(wall, zone)
        if window_start <= instant <= window_end:
            found.append(instant)
    return found
