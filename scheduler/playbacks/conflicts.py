"""Overlaps on a station: refuse them, or let a higher priority displace a lower one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.errors import Conflict
from scheduler.playbacks.models import NOT_STARTED, OPEN, Playback, PlaybackStatus

RANK = {"normal": 0, "priority": 1, "emergency": 2}


@dataclass(frozen=True)
class Slot:
    playback_id: int
    station_id: int
    start: datetime
    end: datetime
    priority: str
    timetable_id: int | None
    title: str


def _slots(session: Session, *conditions: object) -> list[Slot]:
    rows = session.execute(
        select(Playback, Bulletin.duration_ms, Bulletin.title)
        .join(Bulletin, Bulletin.id == Playback.bulletin_id)
        .where(Playback.status.in_(OPEN), *conditions)).all()  # type: ignore[arg-type]
    return [Slot(p.id, p.station_id, p.scheduled_at,
                 p.scheduled_at + timedelta(milliseconds=duration), p.priority,
                 p.timetable_id, title) for p, duration, title in rows]


def overlaps(session: Session, *, timetable_id: int) -> list[tuple[Slot, Slot]]:
    """Return (new, existing) pairs where the timetable's open slots overlap others."""
    mine = _slots(session, Playback.timetable_id == timetable_id)
    if not mine:
        return []
    stations = {s.station_id for s in mine}
    lo = min(s.start for s in mine) - timedelta(hours=24)
    hi = max(s.end for s in mine)
    others = _slots(session, Playback.station_id.in_(stations), Playback.scheduled_at >= lo,
                    Playback.scheduled_at < hi,
                    (Playback.timetable_id != timetable_id) | Playback.timetable_id.is_(None))
    by_station: dict[int, list[Slot]] = {}
    for slot in others:
        by_station.setdefault(slot.station_id, []).append(slot)
    return [(new, old) for new in mine for old in by_station.get(new.station_id, [])
            if old.start < new.end and new.start < old.end]


def resolve(session: Session, *, timetable_id: int, priority: str, displace: bool) -> int:
    """Refuse overlaps at the same or higher priority; displace lower ones only if asked."""
    pairs = overlaps(session, timetable_id=timetable_id)
    blocking = [(n, o) for n, o in pairs if RANK[o.priority] >= RANK[priority]]
    if blocking:
        new, old = blocking[0]
        raise Conflict(_message(new, old, "trùng với", "overlaps"), field="starts_at",
                       code="timetable_conflict")
    if pairs and not displace:
        new, old = pairs[0]
        raise Conflict(_message(new, old, "trùng với", "overlaps") + " — set displace=true to "
                       "replace the lower-priority item", field="displace",
                       code="timetable_conflict")
    displaced = sorted({old.playback_id for _, old in pairs})
    if displaced:
        session.execute(update(Playback)
                        .where(Playback.id.in_(displaced), Playback.status.in_(NOT_STARTED))
                        .values(status=PlaybackStatus.SKIPPED.value, reason="preempted"))
    return len(displaced)


def _message(new: Slot, old: Slot, vi: str, en: str) -> str:
    at = old.start.isoformat(timespec="seconds")
    source = f"lịch phát {old.timetable_id}" if old.timetable_id else "phát ngay"
    return (f"Trạm {new.station_id}: {vi} «{old.title}» ({source}, ưu tiên {old.priority}, "
            f"lúc {at}) — station {new.station_id} {en} playback {old.playback_id} "
            f"('{old.title}', timetable {old.timetable_id}, {old.priority}, at {at})")
