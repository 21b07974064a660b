"""Apply agent events to the ledger idempotently; declare unreported slots missed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, insert, literal_column, select, update
from sqlalchemy.orm import Session

from scheduler.db import UtcDateTime, in_list
from scheduler.playbacks import reasons
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
_NOT_FINAL = [Playback.__table__.c.status != literal_column(f"'{state.value}'")
              for state in sorted(FINAL)]


class Outcome(StrEnum):
    """What became of one reported event."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    FOREIGN = "foreign"  # stored as evidence, applied to nothing


def apply_events(*, session: Session, reports: Sequence[tuple[int, Event]]) -> list[Outcome]:
    """Record (station id, event) reports from authenticated stations, in arrival order.

    Events name their playback by id (a fanned-out broadcast's are named first: see
    broadcasts/fanout.py). An event already recorded is a duplicate and changes nothing; one
    for another station's playback is kept as evidence and applied to nothing; an event
    never moves a playback backwards, nor out of a final state. One query finds the
    duplicates, one reads the playbacks' states, one executemany inserts the rows and a few
    update the playbacks. It writes with Core statements: Playback objects already loaded in
    this session are not refreshed. A concurrent insert of the same event id raises
    IntegrityError: retry then, in a new transaction, where it is a duplicate.
    """
    known = set(_chunked(session, select(PlaybackEvent.event_id), PlaybackEvent.event_id,
                         [event.event_id for _, event in reports]))
    owners: dict[int, tuple[int, str]] = {
        pid: (sid, status) for pid, sid, status in _chunked(
            session, select(Playback.id, Playback.station_id, Playback.status), Playback.id,
            [event.playback_id for _, event in reports if event.playback_id is not None],
            scalars=False)}
    outcomes: list[Outcome] = []
    rows: list[dict[str, Any]] = []
    changes: dict[int, dict[str, Any]] = {}
    now = utcnow()
    for station_id, event in reports:
        if event.event_id in known:
            outcomes.append(Outcome.DUPLICATE)
            continue
        known.add(event.event_id)
        pid = event.playback_id
        owner, status = owners.get(pid, (None, "")) if pid is not None else (None, "")
        if owner != station_id or pid is None:
            log.warning("station %s reported playback %s, which is not its own",
                        station_id, pid if pid is not None else
                        f"of broadcast {event.broadcast_id} (repeat {event.repeat_index})")
            rows.append(_event_row(station_id, event, received=now, applied=False))
            outcomes.append(Outcome.FOREIGN)
            continue
        change = _changes(status, event, now=now)
        if change is not None:
            owners[pid] = (station_id, change["status"])
            changes.setdefault(pid, {}).update(change)
        rows.append(_event_row(station_id, event, received=now, applied=change is not None))
        outcomes.append(Outcome.STORED)
    if rows:
        session.execute(insert(cast(Table, PlaybackEvent.__table__)), rows)
    _update_playbacks(session, changes)
    return outcomes


def _update_playbacks(session: Session, changes: dict[int, dict[str, Any]]) -> None:
    """Write the playbacks' new values, one executemany per set of changed columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for playback_id, change in changes.items():
        groups.setdefault(tuple(sorted(change)), []).append({"pid": playback_id, **change})
    table = cast(Table, Playback.__table__)
    for columns, params in groups.items():
        # a final state never changes, even one written (a cancel, a skip) since we read it;
        # the states are written into the SQL: an executemany cannot expand an IN list
        statement = (update(table).where(table.c.id == bindparam("pid"), *_NOT_FINAL)
                     .values({name: bindparam(name) for name in columns}))
        session.execute(statement, params)


def _event_row(station_id: int, event: Event, *, received: datetime,
               applied: bool) -> dict[str, Any]:
    # 0: a broadcast's playback that is not the station's (no row was made for it)
    return {"event_id": event.event_id, "playback_id": event.playback_id or 0,
            "station_id": station_id, "type": event.type.value, "at": event.at,
            "received_at": received, "clock_offset_ms": event.clock_offset_ms,
            "clock_uncertainty_ms": event.clock_uncertainty_ms,
            "position_ms": event.position_ms, "boot_id": event.boot_id or None,
            "reason": event.reason, "applied": applied}


def _chunked(session: Session, query: Any, column: Any, values: list[Any], *,
             scalars: bool = True) -> list[Any]:
    """Run query filtered by column IN values, a few hundred values at a time."""
    unique = sorted(set(values))
    found: list[Any] = []
    for start in range(0, len(unique), 500):
        chunk = query.where(in_list(session, column, unique[start:start + 500]))
        found.extend(session.scalars(chunk) if scalars else session.execute(chunk))
    return found


def _changes(status: str, event: Event, *, now: datetime) -> dict[str, Any] | None:
    """Return the columns an event changes on a playback in this status, or None."""
    current = PlaybackStatus(status)
    if current in FINAL:
        return None
    target = _target(event)
    if target not in FINAL and _RANK[target] <= _RANK[current]:
        return None
    change: dict[str, Any] = {"status": target.value, "updated_at": now}
    if event.clock_offset_ms is not None:
        change["clock_offset_ms"] = event.clock_offset_ms
    if event.type is EventType.STARTED:
        change["started_at"] = event.at
    if target in FINAL:
        change.update(finished_at=event.at, position_ms=event.position_ms,
                      reason=event.reason or _default_reason(event.type))
    return change


def _target(event: Event) -> PlaybackStatus:
    """Return where an event moves a playback: a skip because the slot passed is `missed`."""
    # a slot that did not go out on air at its time is missed, whatever the agent did with it
    # afterwards; the agent's own reason stays in the ledger's reason
    if event.type is EventType.SKIPPED and reasons.code(event.reason) in reasons.MISSED_SKIPS:
        return PlaybackStatus.MISSED
    return _TARGET[event.type]


def _default_reason(kind: EventType) -> str:
    return {EventType.FINISHED: "played to the end"}.get(kind, kind.value)


def watchdog(*, session: Session, now: datetime, grace: timedelta,
             offline_grace: timedelta, heard_since: datetime | None = None,
             recovery: timedelta = timedelta(0)) -> int:
    """Declare `missed` the slots nobody reported starting; return how many.

    An online station that has been online for the whole grace would have reported a start
    by now (its agent resends every unconfirmed event as soon as it connects). Online means
    heard from since `heard_since`, when the scheduler's broker connection was made: before
    that, "online" may be what a broker that restarted remembered of a station that has not
    reconnected yet, and is playing from its plan meanwhile. A slot due before that
    connection waits `recovery` after it too: what an agent sent as it reconnected, before
    the scheduler had subscribed again to a broker that lost its session, is gone, and comes
    back only with the agent's next resend. An offline station may be
    playing from its plan, so its slots wait for the longer offline grace; unless the plan
    never reached it: no `accepted`, and offline since before the playback was made (or
    never heard from), so it cannot be playing it.
    """
    latest_start = func.coalesce(Playback.play_until, Playback.scheduled_at,
                                 type_=UtcDateTime())
    unrelayed = _fail_unrelayed(session, latest_start < now - grace, now=now)
    due = session.execute(
        select(Playback.id, latest_start, Playback.status, Playback.created_at, Station.online,
               Station.online_since, Station.last_seen_at)
        .join(Station, Station.id == Playback.station_id)
        .where(Playback.status.in_(NOT_STARTED), latest_start < now - grace)
    ).all()
    settled = now - grace
    missed: dict[int, str] = {}
    undelivered: dict[int, str] = {}
    for pid, at, status, created_at, up, since, last_seen in due:
        heard = heard_since is None or (last_seen is not None and last_seen >= heard_since
                                        and (at >= heard_since or now - heard_since >= recovery))
        if up and heard and (since is None or since <= settled):
            missed[pid] = reasons.no_start_reported()
        elif (not up and status == PlaybackStatus.PLANNED.value
              and (last_seen is None or last_seen < created_at)):
            undelivered[pid] = reasons.plan_not_delivered(last_seen)
        elif not up and at < now - offline_grace:
            missed[pid] = reasons.offline_no_report()
    # an `accepted` that lands meanwhile proves the plan did reach the station after all
    return unrelayed + (_miss(session, missed, among=NOT_STARTED, now=now)
            + _miss(session, undelivered, among=(PlaybackStatus.PLANNED.value,), now=now))


def _fail_unrelayed(session: Session, due: ColumnElement[bool], *, now: datetime) -> int:
    """End `failed` the due relays of stations heard from whose agent does not play relays:
    their plans left them out (an older agent would refuse the whole plan)."""
    unable = select(Station.id).where(Station.relays.is_(False),
                                      Station.last_seen_at.is_not(None))
    result = session.execute(
        update(Playback).where(Playback.stream_id.is_not(None), Playback.status.in_(NOT_STARTED),
                               Playback.station_id.in_(unable), due)
        .values(status=PlaybackStatus.FAILED.value, reason=reasons.agent_cannot_relay(),
                updated_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def _miss(session: Session, why: dict[int, str], *, among: Sequence[str],
          now: datetime) -> int:
    """Make these playbacks `missed`, each with its reason, if still in one of these states."""
    if not why:
        return 0
    table = cast(Table, Playback.__table__)
    # literal states: an executemany cannot expand an IN list of bound values
    statement = (update(table)
                 .where(table.c.id == bindparam("pid"),
                        table.c.status.in_([literal_column(f"'{state}'") for state in among]))
                 .values(status=PlaybackStatus.MISSED.value, reason=bindparam("why"),
                         updated_at=now))
    result = session.execute(statement, [{"pid": pid, "why": reason}
                                         for pid, reason in why.items()])
    return int(getattr(result, "rowcount", 0) or 0)
