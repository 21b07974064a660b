"""Apply agent events to the ledger idempotently; declare unreported slots missed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler.db import UtcDateTime
from scheduler.playbacks.models import FINAL, NOT_STARTED, Playback, PlaybackEvent, PlaybackStatus
from scheduler.stations.models import Station
from wardcast.protocol import Event, EventType, utcnow

log = logging.getLogger(__name__)

# Where each event moves a playback; an event never moves it backwards.
_TARGET = {
    EventType.ACCEPTED: PlaybackStatus.DELIVERED,
    EventType.DOWNLOADED: PlaybackStatus.READY,
    EventType.STARTED: PlaybackStatus.PLAYING,
    EventType.FINISHED: PlaybackStatus.PLAYED,
    EventType.FAILED: PlaybackStatus.FAILED,
    EventType.SKIPPED: PlaybackStatus.SKIPPED,
    EventType.INTERRUPTED: PlaybackStatus.INTERRUPTED,
}
_RANK = {PlaybackStatus.PLANNED: 0, PlaybackStatus.DELIVERED: 1, PlaybackStatus.READY: 2,
         PlaybackStatus.PLAYING: 3}


def apply_event(*, session: Session, station_id: int, event: Event) -> bool:
    """Record an event from an authenticated station; return False if it was a duplicate."""
    if session.scalar(select(PlaybackEvent.id).where(PlaybackEvent.event_id == event.event_id)):
        return False
    playback = session.get(Playback, event.playback_id)
    foreign = playback is None or playback.station_id != station_id
    row = PlaybackEvent(
        event_id=event.event_id, playback_id=event.playback_id, station_id=station_id,
        type=event.type.value, at=event.at, received_at=utcnow(),
        clock_offset_ms=event.clock_offset_ms, position_ms=event.position_ms,
        boot_id=event.boot_id or None, reason=event.reason, applied=False)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    if foreign:
        log.warning("station %s reported playback %s, which is not its own",
                    station_id, event.playback_id)
        return True
    assert playback is not None
    row.applied = _advance(playback, event)
    return True


def _advance(playback: Playback, event: Event) -> bool:
    current = PlaybackStatus(playback.status)
    if current in FINAL:
        return False
    target = _TARGET[event.type]
    if target not in FINAL and _RANK[target] <= _RANK[current]:
        return False
    playback.status = target.value
    playback.updated_at = utcnow()
    if event.clock_offset_ms is not None:
        playback.clock_offset_ms = event.clock_offset_ms
    if event.type is EventType.STARTED:
        playback.started_at = event.at
    if target in FINAL:
        playback.finished_at = event.at
        playback.position_ms = event.position_ms
        playback.reason = event.reason or _default_reason(event.type)
    return True


def _default_reason(kind: EventType) -> str:
    return {EventType.FINISHED: "played to the end"}.get(kind, kind.value)


def finalize(*, session: Session, playback_ids: list[int], status: PlaybackStatus,
             reason: str) -> int:
    """Move open playbacks to a final state; return how many moved."""
    if not playback_ids:
        return 0
    result = session.execute(
        update(Playback)
        .where(Playback.id.in_(playback_ids), Playback.status.in_(NOT_STARTED))
        .values(status=status.value, reason=reason, updated_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def watchdog(*, session: Session, now: datetime, grace: timedelta,
             offline_grace: timedelta) -> int:
    """Declare `missed` the slots nobody reported starting; return how many.

    An online station that has been online for the whole grace would have reported a start
    by now (its agent resends every unconfirmed event as soon as it connects). An offline
    station may be playing from its plan, so its slots wait for the longer offline grace.
    """
    latest_start = func.coalesce(Playback.play_until, Playback.scheduled_at,
                                 type_=UtcDateTime())
    due = session.execute(
        select(Playback.id, latest_start, Station.online, Station.online_since)
        .join(Station, Station.id == Playback.station_id)
        .where(Playback.status.in_(NOT_STARTED), latest_start < now - grace)
    ).all()
    settled = now - grace
    online = [pid for pid, _at, up, since in due if up and (since is None or since <= settled)]
    stale = [pid for pid, at, up, _since in due if not up and at < now - offline_grace]
    moved = finalize(session=session, playback_ids=online, status=PlaybackStatus.MISSED,
                     reason="no start reported while the station was online")
    moved += finalize(session=session, playback_ids=stale, status=PlaybackStatus.MISSED,
                      reason="station offline at the slot and no report since")
    return moved
