"""Expand timetables into playbacks over the rolling horizon; cancel what was removed.

Each public function returns the stations whose plans it changed and notes them on the
session (scheduler/unitofwork.py), which pushes them once the session commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.planning import conflicts
from scheduler.planning.rules import Rules, within_validity
from scheduler.playbacks.models import NOT_STARTED, Playback, PlaybackStatus
from scheduler.programmes import layout
from scheduler.programmes.layout import MS
from scheduler.stations.models import Station
from scheduler.timetables import recurrence
from scheduler.timetables import service as timetables
from scheduler.timetables.models import Timetable
from scheduler.unitofwork import plans_changed
from wardcast.protocol import utcnow


@dataclass(frozen=True)
class Wanted:
    """One playback a timetable wants: an item of a run on a station."""

    station_id: int
    at: datetime
    bulletin_id: int | None  # None for a relay
    position: int | None  # the item's place in its programme; None for a lone bulletin
    run_at: datetime  # when its run starts
    programme_id: int | None
    stream_id: int | None = None
    duration_ms: int | None = None  # a relay's span


Slots = dict[tuple[int, datetime], Wanted]


def plan(*, session: Session, now: datetime, horizon: timedelta,
         only: list[Timetable] | None = None, settle: bool = True) -> set[int]:
    """Create the missing playbacks up to now + horizon; return the stations that changed.

    Runs that were beyond the horizon when their timetable was checked are settled here:
    where two overlap on a station, one keeps the slot and the other is skipped (`conflict`).
    """
    end = now + horizon
    created: list[Playback] = []
    for timetable in only if only is not None else timetables.active(session=session, now=now):
        created += _plan_one(session=session, timetable=timetable, start=now, end=end)
    changed = {p.station_id for p in created}
    if settle and created:
        changed |= conflicts.settle(session, created=created)
    plans_changed(session, changed)
    return changed


def desired(session: Session, timetable: Timetable, *, start: datetime, end: datetime,
            only: Station | None = None) -> Slots:
    """Return every item the timetable wants from runs starting between start and end.

    A run outside the broadcast dates, or (but for emergencies) touching a station's quiet
    hours anywhere in its span, is not wanted: a programme's run is one unit.
    """
    laid = layout.for_timetable(session, timetable)
    length = layout.span(laid)
    targets = [only] if only is not None else list(timetable.stations)
    rules = Rules.load(session, timetable, targets,
                       bulletin_ids=layout.bulletin_ids(laid))
    wanted: Slots = {}
    expanded: dict[str, list[datetime]] = {}  # stations in one zone share their runs
    for station in targets:
        if station.timezone not in expanded:
            zone = ZoneInfo(station.timezone)
            wall = recurrence.local_start(starts_at=timetable.starts_at,
                                          starts_at_local=timetable.starts_at_local,
                                          floating=timetable.floating, zone=zone)
            expanded[station.timezone] = recurrence.occurrences(
                wall_start=wall, rule_text=timetable.recurrence, zone=zone,
                window_start=start, window_end=end, until=timetable.until)
        for run_at in expanded[station.timezone]:
            if not rules.allows(station, run_at, length):
                continue
            for part in laid:
                at = run_at + part.offset
                wanted[(station.id, at)] = Wanted(
                    station.id, at, part.bulletin_id, part.position, run_at,
                    timetable.programme_id, part.stream_id,
                    part.duration // MS if part.stream_id is not None else None)
    return wanted


def replan(*, session: Session, timetable: Timetable, now: datetime, horizon: timedelta,
           reason: str = "timetable changed", settle: bool = False) -> set[int]:
    """After an edit: cancel future slots it no longer wants, update kept ones, add new ones."""
    length = layout.span(layout.for_timetable(session, timetable))
    # runs already under way count too, so that their remaining items are kept
    wanted = desired(session, timetable, start=now - length, end=now + horizon)
    changed: set[int] = set()
    future = session.scalars(select(Playback).where(
        Playback.timetable_id == timetable.id, Playback.status.in_(NOT_STARTED),
        Playback.scheduled_at > now))
    for playback in future:
        changed.add(playback.station_id)
        want = wanted.get((playback.station_id, playback.scheduled_at))
        if want is not None:
            _fill(playback, want, priority=timetable.priority)
        else:
            playback.status = PlaybackStatus.CANCELLED.value
            playback.reason = reason
        playback.updated_at = now
    session.flush()
    created = _plan_one(session=session, timetable=timetable, start=now, end=now + horizon)
    changed |= {p.station_id for p in created}
    if settle and created:
        changed |= conflicts.settle(session, created=created)
    plans_changed(session, changed)
    return changed


def _fill(playback: Playback, want: Wanted, *, priority: str) -> None:
    playback.bulletin_id = want.bulletin_id
    playback.stream_id, playback.duration_ms = want.stream_id, want.duration_ms
    playback.priority = priority
    playback.programme_id = want.programme_id
    playback.programme_position = want.position
    playback.programme_run_at = want.run_at if want.programme_id is not None else None


def replan_station(*, session: Session, station_id: int, now: datetime,
                   horizon: timedelta) -> set[int]:
    """Re-plan every timetable that targets a station (after its zone or quiet hours changed)."""
    changed: set[int] = set()
    for timetable in timetables.active(session=session, now=now):
        if any(s.id == station_id for s in timetable.stations):
            changed |= replan(session=session, timetable=timetable, now=now, horizon=horizon,
                              reason="station settings changed (quiet hours or time zone)",
                              settle=True)
    return changed


def expire_bulletin(*, session: Session, bulletin_id: int, now: datetime) -> set[int]:
    """Skip (reason `expired`) the future slots of a bulletin outside its broadcast dates."""
    bulletin = session.get(Bulletin, bulletin_id)
    assert bulletin is not None
    changed: set[int] = set()
    rows = session.execute(select(Playback, Station).join(Station)
                           .where(Playback.bulletin_id == bulletin_id,
                                  Playback.status.in_(NOT_STARTED), Playback.scheduled_at > now))
    for playback, station in rows:
        day = playback.scheduled_at.astimezone(ZoneInfo(station.timezone)).date()
        if not within_validity(day, bulletin.valid_from, bulletin.valid_until):
            playback.status = PlaybackStatus.SKIPPED.value
            playback.reason = "expired"
            playback.updated_at = now
            changed.add(station.id)
    plans_changed(session, changed)
    return changed


def _plan_one(*, session: Session, timetable: Timetable, start: datetime,
              end: datetime) -> list[Playback]:
    existing = {(station_id, at) for station_id, at in session.execute(
        select(Playback.station_id, Playback.scheduled_at)
        .where(Playback.timetable_id == timetable.id, Playback.scheduled_at >= start,
               Playback.status != PlaybackStatus.CANCELLED.value))}
    stamp = utcnow()
    wanted = desired(session, timetable, start=start, end=end)
    created: list[Playback] = []
    for key in sorted(set(wanted) - existing):
        playback = Playback(timetable_id=timetable.id, station_id=key[0], scheduled_at=key[1],
                            status=PlaybackStatus.PLANNED.value, created_at=stamp,
                            updated_at=stamp)
        _fill(playback, wanted[key], priority=timetable.priority)
        session.add(playback)
        created.append(playback)
    session.flush()
    return created


def cancel_timetable(*, session: Session, timetable_id: int, now: datetime) -> set[int]:
    """Cancel the future, not-yet-started playbacks of a timetable; return the stations touched."""
    stations = set(session.scalars(
        select(Playback.station_id).where(Playback.timetable_id == timetable_id,
                                          Playback.status.in_(NOT_STARTED),
                                          Playback.scheduled_at > now)))
    # Past slots stay open: an offline agent may have played them and will report it.
    session.execute(
        update(Playback)
        .where(Playback.timetable_id == timetable_id, Playback.status.in_(NOT_STARTED),
               Playback.scheduled_at > now)
        .values(status=PlaybackStatus.CANCELLED.value, reason="timetable deleted",
                updated_at=now))
    plans_changed(session, stations)
    return stations
