"""Expand timetables into playbacks over the rolling horizon; cancel what was removed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scheduler.playbacks.models import NOT_STARTED, Playback, PlaybackStatus
from scheduler.stations.models import Station
from scheduler.timetables import recurrence
from scheduler.timetables import service as timetables
from scheduler.timetables.models import Timetable
from wardcast.protocol import utcnow


def plan(*, session: Session, now: datetime, horizon: timedelta,
         only: list[Timetable] | None = None) -> set[int]:
    """Create the missing playbacks up to now + horizon; return the stations that changed."""
    changed: set[int] = set()
    end = now + horizon
    for timetable in only if only is not None else timetables.active(session=session, now=now):
        changed |= _plan_one(session=session, timetable=timetable, start=now, end=end)
    return changed


def desired(timetable: Timetable, *, start: datetime, end: datetime,
            only: Station | None = None) -> set[tuple[int, datetime]]:
    """Return every (station id, instant) the timetable wants between start and end."""
    wanted: set[tuple[int, datetime]] = set()
    for station in [only] if only is not None else timetable.stations:
        zone = ZoneInfo(station.timezone)
        wall = recurrence.local_start(starts_at=timetable.starts_at,
                                      starts_at_local=timetable.starts_at_local,
                                      floating=timetable.floating, zone=zone)
        wanted |= {(station.id, instant) for instant in recurrence.occurrences(
            wall_start=wall, rule_text=timetable.recurrence, zone=zone, window_start=start,
            window_end=end, until=timetable.until)}
    return wanted


def replan(*, session: Session, timetable: Timetable, now: datetime,
           horizon: timedelta) -> set[int]:
    """After an edit: cancel future slots it no longer wants, update kept ones, add new ones."""
    wanted = desired(timetable, start=now, end=now + horizon)
    changed: set[int] = set()
    future = session.scalars(select(Playback).where(
        Playback.timetable_id == timetable.id, Playback.status.in_(NOT_STARTED),
        Playback.scheduled_at > now))
    for playback in future:
        changed.add(playback.station_id)
        if (playback.station_id, playback.scheduled_at) in wanted:
            playback.bulletin_id = timetable.bulletin_id
            playback.priority = timetable.priority
        else:
            playback.status = PlaybackStatus.CANCELLED.value
            playback.reason = "timetable changed"
        playback.updated_at = now
    session.flush()
    return changed | _plan_one(session=session, timetable=timetable, start=now,
                               end=now + horizon)


def _plan_one(*, session: Session, timetable: Timetable, start: datetime,
              end: datetime) -> set[int]:
    existing = set(session.execute(
        select(Playback.station_id, Playback.scheduled_at)
        .where(Playback.timetable_id == timetable.id, Playback.scheduled_at >= start,
               Playback.status != PlaybackStatus.CANCELLED.value)).all())
    stamp = utcnow()
    missing = sorted(desired(timetable, start=start, end=end) - existing)
    for station_id, instant in missing:
        session.add(Playback(
            timetable_id=timetable.id, station_id=station_id, bulletin_id=timetable.bulletin_id,
            scheduled_at=instant, priority=timetable.priority,
            status=PlaybackStatus.PLANNED.value, created_at=stamp, updated_at=stamp))
    session.flush()
    return {station_id for station_id, _ in missing}


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
    return stations
