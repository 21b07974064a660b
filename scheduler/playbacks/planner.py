"""Expand timetables into playbacks over the rolling horizon; cancel what was removed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.playbacks.models import NOT_STARTED, Playback, PlaybackStatus
from scheduler.playbacks.rules import Rules, within_validity
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


def desired(session: Session, timetable: Timetable, *, start: datetime, end: datetime,
            only: Station | None = None) -> set[tuple[int, datetime]]:
    """Return every (station id, instant) the timetable wants between start and end.

    Occurrences outside the bulletin's broadcast dates, and (but for emergencies) inside a
    station's quiet hours, are not wanted.
    """
    wanted: set[tuple[int, datetime]] = set()
    targets = [only] if only is not None else list(timetable.stations)
    rules = Rules.load(session, timetable, targets)
    for station in targets:
        zone = ZoneInfo(station.timezone)
        wall = recurrence.local_start(starts_at=timetable.starts_at,
                                      starts_at_local=timetable.starts_at_local,
                                      floating=timetable.floating, zone=zone)
        wanted |= {(station.id, instant) for instant in recurrence.occurrences(
            wall_start=wall, rule_text=timetable.recurrence, zone=zone, window_start=start,
            window_end=end, until=timetable.until) if rules.allows(station, instant)}
    return wanted


def replan(*, session: Session, timetable: Timetable, now: datetime, horizon: timedelta,
           reason: str = "timetable changed") -> set[int]:
    """After an edit: cancel future slots it no longer wants, update kept ones, add new ones."""
    wanted = desired(session, timetable, start=now, end=now + horizon)
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
            playback.reason = reason
        playback.updated_at = now
    session.flush()
    return changed | _plan_one(session=session, timetable=timetable, start=now,
                               end=now + horizon)


def replan_station(*, session: Session, station_id: int, now: datetime,
                   horizon: timedelta) -> set[int]:
    """Re-plan every timetable that targets a station (after its zone or quiet hours changed)."""
    changed: set[int] = set()
    for timetable in timetables.active(session=session, now=now):
        if any(s.id == station_id for s in timetable.stations):
            changed |= replan(session=session, timetable=timetable, now=now, horizon=horizon,
                              reason="station settings changed (quiet hours or time zone)")
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
    return changed


def _plan_one(*, session: Session, timetable: Timetable, start: datetime,
              end: datetime) -> set[int]:
    existing = set(session.execute(
        select(Playback.station_id, Playback.scheduled_at)
        .where(Playback.timetable_id == timetable.id, Playback.scheduled_at >= start,
               Playback.status != PlaybackStatus.CANCELLED.value)).all())
    stamp = utcnow()
    missing = sorted(desired(session, timetable, start=start, end=end) - existing)
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
