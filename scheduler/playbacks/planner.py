"""Expand timetables into playbacks over the rolling horizon; cancel what was removed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scheduler.playbacks.models import NOT_STARTED, Playback, PlaybackStatus
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


def _plan_one(*, session: Session, timetable: Timetable, start: datetime,
              end: datetime) -> set[int]:
    existing = set(session.execute(
        select(Playback.station_id, Playback.scheduled_at)
        .where(Playback.timetable_id == timetable.id, Playback.scheduled_at >= start)).all())
    changed: set[int] = set()
    stamp = utcnow()
    for station in timetable.stations:
        zone = ZoneInfo(station.timezone)
        wall = recurrence.local_start(starts_at=timetable.starts_at,
                                      starts_at_local=timetable.starts_at_local,
                                      floating=timetable.floating, zone=zone)
        for instant in recurrence.occurrences(wall_start=wall, rule_text=timetable.recurrence,
                                              zone=zone, window_start=start, window_end=end,
                                              until=timetable.until):
            if (station.id, instant) in existing:
                continue
            session.add(Playback(
                timetable_id=timetable.id, station_id=station.id,
                bulletin_id=timetable.bulletin_id, scheduled_at=instant,
                priority=timetable.priority, status=PlaybackStatus.PLANNED.value,
                created_at=stamp, updated_at=stamp))
            changed.add(station.id)
    session.flush()
    return changed


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
