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
# statuses of items that will still play (None: projected from a timetable, not yet planned)
LIVE = {None, "planned", "delivered", "ready", "playing"}


@dataclass
class Entry:
    """One bulletin at one local time, on one or more of the shown stations."""

    local: datetime
    title: str
    bulletin_id: int | None  # None for a relay
    priority: str
    timetable_id: int | None
    statuses: set[str] = field(default_factory=set)
    stations: list[str] = field(default_factory=list)
    clashes: set[str] = field(default_factory=set)  # what it overlaps on one of the stations


@dataclass(frozen=True)
class Day:
    day: date
    label: str
    today: bool
    entries: list[Entry]


def clashes(items: list[agenda.AgendaItem]) -> dict[int, set[str]]:
    """Say, per item (by id()), the titles of other runs its run overlaps on one station.

    A run is a lone item or every item of one programme run (first start to last end); runs
    that will not play (skipped, cancelled, over) overlap nothing.
    """
    runs: dict[tuple[object, ...], list[agenda.AgendaItem]] = {}
    for item in items:
        if item.status in LIVE:
            source = item.timetable_id if item.timetable_id is not None else item.playback_id
            runs.setdefault((item.timetable_id is None, source, item.run_at), []).append(item)
    spans = sorted(((min(i.scheduled_at for i in run), max(i.end for i in run), run)
                    for run in runs.values()), key=lambda span: span[0])
    found: dict[int, set[str]] = {}
    for index, (_, end, run) in enumerate(spans):
        for other_start, _, other in spans[index + 1:]:
            if other_start >= end:
                break
            for mine, theirs in ((run, other), (other, run)):
                for item in mine:
                    found.setdefault(id(item), set()).add(theirs[0].title)
    return found


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
    merged: dict[tuple[datetime, int | None, int | None], Entry] = {}
    for station in stations[:MAX_STATIONS]:
        items = agenda.agenda(session=session, station=station, start=start, end=end)
        overlapping = clashes(items)
        for item in items:
            key = (item.scheduled_at, item.bulletin_id, item.timetable_id)
            entry = merged.get(key)
            if entry is None:
                entry = merged[key] = Entry(item.scheduled_at.astimezone(tz), item.title,
                                            item.bulletin_id, item.priority, item.timetable_id)
            entry.stations.append(station.name)
            entry.statuses.add(item.status or "projected")
            entry.clashes |= overlapping.get(id(item), set())
    today = now.astimezone(tz).date()
    days = []
    for offset in range(DAYS):
        day = monday + timedelta(days=offset)
        entries = sorted((e for e in merged.values() if e.local.date() == day),
                         key=lambda e: (e.local, e.title))
        days.append(Day(day, format_date(day, "EEEE, dd/MM/yyyy", locale=lang), day == today,
                        entries))
    return days
