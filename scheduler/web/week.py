"""The week calendar of a station or group, built from the agenda service, in local time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.orm import Session

from scheduler.agenda import service as agenda
from scheduler.instants import check_day
from scheduler.stations.models import Station

DAYS = 7
# a group calendar asks the agenda of each member; beyond this many it would be slow to read
MAX_STATIONS = 300


@dataclass
class Entry:
    """One bulletin at one local time, on one or more of the shown stations."""

    local: datetime
    title: str
    bulletin_id: int
    priority: str
    timetable_id: int | None
    statuses: set[str] = field(default_factory=set)
    stations: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Day:
    day: date
    label: str
    today: bool
    entries: list[Entry]


def monday_of(day: date) -> date:
    """The Monday starting the week that holds this day."""
    return day - timedelta(days=day.weekday())


def week_start(value: str | None, *, zone: str, now: datetime) -> date:
    """Read a `week` parameter (any day of it, yyyy-mm-dd); default: this week in the zone.

    A day that is no date shows this week; a date outside the years wardcast works with is
    refused (its week's end, in UTC, could not be computed)."""
    try:
        chosen = date.fromisoformat(value) if value else now.astimezone(ZoneInfo(zone)).date()
    except ValueError:
        chosen = now.astimezone(ZoneInfo(zone)).date()
    return monday_of(check_day(chosen, field="week"))


def week(*, session: Session, stations: list[Station], monday: date, zone: str, lang: str,
         now: datetime) -> list[Day]:
    """What the stations will play in the week from `monday`, day by day, in `zone`."""
    tz = ZoneInfo(zone)
    start = datetime.combine(monday, time(0), tz)
    end = datetime.combine(monday + timedelta(days=DAYS), time(0), tz)
    merged: dict[tuple[datetime, int, int | None], Entry] = {}
    for station in stations[:MAX_STATIONS]:
        for item in agenda.agenda(session=session, station=station, start=start, end=end):
            key = (item.scheduled_at, item.bulletin_id, item.timetable_id)
            entry = merged.get(key)
            if entry is None:
                entry = merged[key] = Entry(item.scheduled_at.astimezone(tz), item.title,
                                            item.bulletin_id, item.priority, item.timetable_id)
            entry.stations.append(station.name)
            entry.statuses.add(item.status or "projected")
    today = now.astimezone(tz).date()
    days = []
    for offset in range(DAYS):
        day = monday + timedelta(days=offset)
        entries = sorted((e for e in merged.values() if e.local.date() == day),
                         key=lambda e: (e.local, e.title))
        days.append(Day(day, format_date(day, "EEEE, dd/MM/yyyy", locale=lang), day == today,
                        entries))
    return days
