"""Overlaps on a station: refuse them, let a higher priority displace a lower one, or settle.

The unit is a run: a lone playback, or every item of one programme run (its span runs from
the first item's start to the last item's end, gaps included).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from scheduler.errors import Conflict
from scheduler.instants import said_at
from scheduler.planning import displacements, lookahead
from scheduler.playbacks import items
from scheduler.playbacks.models import NOT_STARTED, OPEN, Playback, PlaybackStatus
from scheduler.programmes import layout
from scheduler.programmes.models import Programme
from scheduler.stations.models import Station
from scheduler.timetables.models import Timetable
from scheduler.unitofwork import plans_changed
from scheduler.words import priority_vi, station_en, station_vi, upper_first
from wardcast.protocol import utcnow

RANK = {"normal": 0, "priority": 1, "emergency": 2}
# said after a clash with a lower priority, in each language
DISPLACE_HINT = ("; chọn «Cho phép thay thế…» (displace=true) để thay thế mục có mức ưu "
                 "tiên thấp hơn",
                 "; set displace=true to replace the lower-priority item")
# how far around a slot to look for the runs it may overlap: no run is longer than this
REACH = layout.MAX_RUN


@dataclass
class Unit:
    """A run on one station: what is refused, displaced or skipped as a whole."""

    key: tuple[object, ...]
    station_id: int
    start: datetime
    end: datetime
    priority: str
    timetable_id: int | None
    broadcast_id: int | None
    title: str
    playback_ids: list[int]
    started: bool

    @property
    def source(self) -> str:
        if self.timetable_id is not None:
            return f"timetable {self.timetable_id}"
        return f"broadcast {self.broadcast_id}"

    def overlaps(self, other: Unit) -> bool:
        return other.start < self.end and self.start < other.end


def _units(session: Session, *conditions: object) -> list[Unit]:
    rows = session.execute(items.joined(
        select(Playback.id, Playback.station_id, Playback.scheduled_at, Playback.priority,
               Playback.timetable_id, Playback.broadcast_id, Playback.programme_id,
               Playback.programme_run_at, Playback.status, items.DURATION_MS, items.TITLE))
        .where(Playback.status.in_(OPEN), *conditions)  # type: ignore[arg-type]
        .order_by(Playback.scheduled_at, Playback.id)).all()
    units: dict[tuple[object, ...], Unit] = {}
    titles: dict[int, str | None] = {}
    for (pid, station_id, at, priority, timetable_id, broadcast_id, programme_id, run_at,
         status, duration, title) in rows:
        end = at + timedelta(milliseconds=duration)
        playing = status == PlaybackStatus.PLAYING.value
        key: tuple[object, ...] = (("run", timetable_id, station_id, run_at)
                                   if run_at is not None else ("one", pid))
        unit = units.get(key)
        if unit is None:
            if programme_id is not None and programme_id not in titles:
                titles[programme_id] = _programme_title(session, programme_id)
            name = titles.get(programme_id) if programme_id is not None else None
            units[key] = Unit(key, station_id, at, end, priority, timetable_id, broadcast_id,
                              name or title, [pid], playing)
            continue
        unit.start, unit.end = min(unit.start, at), max(unit.end, end)
        unit.playback_ids.append(pid)
        unit.started |= playing
    return list(units.values())


def _programme_title(session: Session, programme_id: int) -> str | None:
    programme = session.get(Programme, programme_id)
    return programme.title if programme is not None else None


def _around(session: Session, station_ids: Iterable[int], lo: datetime,
            hi: datetime) -> list[Unit]:
    """Return the open runs on these stations near [lo, hi], a few hundred stations a time."""
    ids = sorted(set(station_ids))
    found: list[Unit] = []
    for first in range(0, len(ids), 500):
        found += _units(session, Playback.station_id.in_(ids[first:first + 500]),
                        or_(Playback.scheduled_at >= lo - REACH,
                            and_(Playback.stream_id.is_not(None),
                                 Playback.scheduled_at >= lo - layout.MAX_RELAY)),
                        Playback.scheduled_at < hi + REACH)
    return found


def overlaps(session: Session, *, timetable_id: int) -> list[tuple[Unit, Unit]]:
    """Return (new, existing) pairs where the timetable's open runs overlap others."""
    mine = _units(session, Playback.timetable_id == timetable_id)
    if not mine:
        return []
    others = [u for u in _around(session, {u.station_id for u in mine},
                                 min(u.start for u in mine), max(u.end for u in mine))
              if u.timetable_id != timetable_id]
    # by station, keeping their order: comparing every pair was quadratic in the fleet
    by_station: dict[int, list[Unit]] = {}
    for old in others:
        by_station.setdefault(old.station_id, []).append(old)
    return [(new, old) for new in mine for old in by_station.get(new.station_id, [])
            if new.overlaps(old)]


def resolve(session: Session, *, timetable_id: int, priority: str, displace: bool) -> int:
    """Refuse overlaps at the same or higher priority; displace lower ones only if asked."""
    _refuse_self_overlap(session, timetable_id)
    pairs = overlaps(session, timetable_id=timetable_id)
    blocking = [(n, o) for n, o in pairs if RANK[o.priority] >= RANK[priority] or o.started]
    if blocking:
        new, old = blocking[0]
        raise Conflict(_message(session, new, old), field="starts_at",
                       code="timetable_conflict")
    if pairs and not displace:
        new, old = pairs[0]
        raise Conflict(_message(session, new, old, hint=True), field="displace",
                       code="timetable_conflict")
    displaced = sorted({pid for _, old in pairs for pid in old.playback_ids})
    _skip(session, displaced, reason="preempted")
    plans_changed(session, {old.station_id for _, old in pairs})
    displacements.record(session=session, timetable_id=timetable_id, displaced_ids={
        old.timetable_id for _, old in pairs if old.timetable_id is not None})
    return len(displaced)


def resolve_ahead(session: Session, *, timetable: Timetable, now: datetime,
                  ahead: timedelta, displace: bool) -> None:
    """Refuse clashes past the planning horizon as `resolve` does inside it.

    There are no playbacks there to skip: a displacement is recorded, and the planner ends
    the lower timetable's clashing runs `skipped`, reason `preempted`, when it reaches them
    (`settle`). A displacement that stands is no clash when either timetable is edited.
    """
    found = lookahead.clashes(session, timetable=timetable, now=now, lookahead=ahead)
    for clash in found:
        if clash.other.plays.timetable.id == timetable.id:
            raise Conflict(_self_overlap_message(clash.station, clash.mine.start),
                           field="recurrence", code="timetable_conflict")
    standing = displacements.pairs(session=session, timetable_ids=[timetable.id])
    found = [c for c in found if not _stands(standing, timetable, c.other.plays.timetable)]
    blocking = [c for c in found
                if RANK[c.other.plays.timetable.priority] >= RANK[timetable.priority]]
    if blocking:
        raise Conflict(_ahead_message(blocking[0]), field="starts_at", code="timetable_conflict")
    if found and not displace:
        raise Conflict(_ahead_message(found[0], hint=True), field="displace",
                       code="timetable_conflict")
    displacements.record(session=session, timetable_id=timetable.id,
                         displaced_ids={c.other.plays.timetable.id for c in found})


def _stands(standing: set[tuple[int, int]], one: Timetable, other: Timetable) -> bool:
    """Tell whether one of the two displaces the other, and still has the higher priority."""
    return any((winner.id, loser.id) in standing and RANK[winner.priority] > RANK[loser.priority]
               for winner, loser in ((one, other), (other, one)))


def _refuse_self_overlap(session: Session, timetable_id: int) -> None:
    """Refuse a timetable whose runs would overlap each other (a run longer than its rule)."""
    mine = sorted(_units(session, Playback.timetable_id == timetable_id),
                  key=lambda u: (u.station_id, u.start))
    for before, after in zip(mine, mine[1:], strict=False):
        if before.station_id == after.station_id and before.overlaps(after):
            station = session.get(Station, after.station_id)
            assert station is not None
            raise Conflict(_self_overlap_message(station, after.start), field="recurrence",
                           code="timetable_conflict")


def _self_overlap_message(station: Station, at: datetime) -> str:
    when = said_at(at, station.timezone)
    return (f"Các lượt phát của lịch này chồng lên nhau lúc {when} ở {station_vi(station.name)} "
            f"— the timetable's runs overlap each other at {when} on "
            f"{station_en(station.name)}: the "
            "recurrence is shorter than one run")


def settle(session: Session, *, created: list[Playback]) -> set[int]:
    """Skip one of each pair of overlapping runs among newly planned ones; return stations.

    Who keeps the slot: the higher priority; at the same priority the run that was planned
    first (already in the ledger), then the older timetable, then the earlier run. The other
    is skipped with reason ``conflict with timetable N (playback M)``, or ``preempted`` where
    the keeper was let displace it (`displacements`).
    """
    fresh = {p.id for p in created}
    every = _around(session, {p.station_id for p in created},
                    min(p.scheduled_at for p in created),
                    max(p.scheduled_at + timedelta(milliseconds=p.duration_ms or 0)
                        for p in created))
    is_new = {u.key: bool(fresh.intersection(u.playback_ids)) for u in every}
    by_station: dict[int, list[Unit]] = {}
    for each in every:
        by_station.setdefault(each.station_id, []).append(each)
    lost: set[tuple[object, ...]] = set()
    changed: set[int] = set()
    standing = displacements.pairs(session=session, timetable_ids={
        u.timetable_id for u in every if is_new[u.key] and u.timetable_id is not None})
    for unit in sorted((u for u in every if is_new[u.key]), key=_strength):
        if unit.key in lost:
            continue
        rivals = [o for o in by_station[unit.station_id]
                  if o.key != unit.key and o.key not in lost and unit.overlaps(o)]
        winner = next((o for o in rivals if _keeps(o, unit, is_new)), None)
        losers = [(unit, winner)] if winner is not None else [(o, unit) for o in rivals]
        for loser, by in losers:
            lost.add(loser.key)
            changed.add(loser.station_id)
            _skip(session, loser.playback_ids, reason=_reason(loser, by, standing))
    return changed


def _reason(loser: Unit, by: Unit, standing: set[tuple[int, int]]) -> str:
    """`preempted` where a recorded displacement stands, else which run kept the slot."""
    if ((by.timetable_id, loser.timetable_id) in standing
            and RANK[by.priority] > RANK[loser.priority]):
        return "preempted"
    return f"conflict with {by.source} (playback {by.playback_ids[0]})"


def _strength(unit: Unit) -> tuple[int, int, datetime]:
    return -RANK[unit.priority], unit.timetable_id or 0, unit.start


def _keeps(rival: Unit, unit: Unit, is_new: dict[tuple[object, ...], bool]) -> bool:
    """Tell whether rival keeps its slot against the newly planned unit."""
    if rival.started or RANK[rival.priority] != RANK[unit.priority]:
        return rival.started or RANK[rival.priority] > RANK[unit.priority]
    if not is_new[rival.key]:
        return True
    return _strength(rival) < _strength(unit)


def _skip(session: Session, playback_ids: list[int], *, reason: str) -> None:
    if playback_ids:
        session.execute(update(Playback)
                        .where(Playback.id.in_(playback_ids), Playback.status.in_(NOT_STARTED))
                        .values(status=PlaybackStatus.SKIPPED.value, reason=reason,
                                updated_at=utcnow()))


def _message(session: Session, new: Unit, old: Unit, *, hint: bool = False) -> str:
    station = session.get(Station, new.station_id)
    assert station is not None
    # the clerk finds the other timetable by its bulletin and time: timetables have no names
    source = (("lịch phát khác", f"timetable {old.timetable_id}")
              if old.timetable_id else ("phát ngay", f"broadcast {old.broadcast_id}"))
    return clash_message(station=station, title=old.title, source=source,
                         priority=old.priority, at=old.start, hint=hint)


def _ahead_message(clash: lookahead.Clash, *, hint: bool = False) -> str:
    other = clash.other.plays
    source = ("lịch phát khác", f"timetable {other.timetable.id}")
    return clash_message(station=clash.station, title=other.title, source=source,
                         priority=other.timetable.priority, at=clash.other.start, hint=hint)


def clash_message(*, station: Station, title: str, source: tuple[str, str], priority: str,
                  at: datetime, hint: bool = False) -> str:
    """Say what a station's run clashes with, and when, in the station's local time."""
    when = said_at(at, station.timezone)
    vi_hint, en_hint = DISPLACE_HINT if hint else ("", "")
    return (f"{upper_first(station_vi(station.name))}: trùng với «{title}» ({source[0]}, mức "
            f"{priority_vi(priority)}) lúc {when}{vi_hint} — {station_en(station.name)} clashes "
            f"with '{title}' ({source[1]}, {priority}) at {when}{en_hint}")
