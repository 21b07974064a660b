"""Stop a broadcast on every station it reached.

Its repeats not started yet end `cancelled` in the ledger (and leave the stations' plans);
each station with a playback of it still open gets a STOP command naming the broadcast, so
the agent cuts it only if it is what plays, and drops its waiting repeats (those an urgent
group message brought stay in an agent's plan until a later plan says otherwise). The agent
reports the cut playback `interrupted`.

Per-station commands rather than one STOP on the group topics: each is recorded with the
agent's answer, stations named one by one have no group topic, and a manual stop reaches
the stations where it is still open, not a whole fleet. (One group message would be the
cheaper path for a fleet of thousands still playing; see the note in the issue.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.audit.service import Actor
from scheduler.broadcasts.models import Broadcast
from scheduler.controls import service as controls
from scheduler.db import in_list
from scheduler.errors import Conflict, NotFound
from scheduler.playbacks.models import NOT_STARTED, Playback, PlaybackStatus
from scheduler.stations import service as stations
from scheduler.unitofwork import after_commit, plans_changed
from scheduler.users.models import User
from wardcast.protocol import Command, CommandType

STOPPED = "broadcast.stop"  # the audit action; the watch page reads who stopped it and when
REASON = "broadcast stopped"
ALREADY = "broadcast_stopped"


class BroadcastNotFound(NotFound):
    code = "broadcast_not_found"


@dataclass(frozen=True)
class Stopped:
    """What a stop did: playbacks cancelled before they started, commands to cut the rest."""

    broadcast_id: int
    cancelled: list[int]
    commands: list[tuple[int, Command]]  # (station id, STOP), sent once committed


def get(*, session: Session, broadcast_id: int) -> Broadcast:
    """Return a broadcast or raise BroadcastNotFound."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise BroadcastNotFound(f"Không tìm thấy lần phát khẩn cấp {broadcast_id} — broadcast "
                                "not found", field="broadcast_id")
    return broadcast


def stopped_at(*, session: Session, broadcast_id: int) -> tuple[datetime, str] | None:
    """When and by whom a broadcast was stopped, if it was."""
    rows, _ = audit.listing(session=session, limit=1, offset=0, action=STOPPED,
                            target_type="broadcast", target_id=str(broadcast_id))
    return (rows[0].at, rows[0].username) if rows else None


def stopped_stations(*, session: Session, broadcast_id: int) -> set[int]:
    """The stations every stop of a broadcast was sent to (a ward-limited user's stop
    reaches only their wards' stations)."""
    rows, _ = audit.listing(session=session, limit=1000, offset=0, action=STOPPED,
                            target_type="broadcast", target_id=str(broadcast_id))
    return {int(sid) for row in rows for sid in json.loads(row.detail or "{}").get("stations", [])}


def stop(*, session: Session, broadcast_id: int, by: User, actor: Actor,
         now: datetime, reason: str | None = None) -> Stopped:
    """Stop a broadcast where it is still open (on the user's stations), and audit it.

    reason: a code (protocol.STOP_REASON, e.g. "live_ended") that starts the reason of the
    playbacks it cancels and of those the agents cut."""
    broadcast = get(session=session, broadcast_id=broadcast_id)
    query = select(Playback.id, Playback.station_id, Playback.status).where(
        Playback.broadcast_id == broadcast.id,
        Playback.status.in_([*NOT_STARTED, PlaybackStatus.PLAYING.value]))
    if by.wards is not None:
        query = query.where(in_list(session, Playback.station_id,
                                    stations.ids_in_wards(session=session, wards=by.wards)))
    rows = session.execute(query).all()
    if not rows:  # a stop by a ward-limited user leaves the other wards' stations open
        if stopped_at(session=session, broadcast_id=broadcast.id) is not None:
            raise Conflict(f"Lần phát khẩn cấp {broadcast.id} đã được dừng — broadcast already "
                           "stopped", field="broadcast_id", code=ALREADY)
        raise Conflict(f"Lần phát khẩn cấp {broadcast.id} không còn phát hay chờ phát ở trạm "
                       "nào — nothing of the broadcast is playing or waiting",
                       field="broadcast_id", code="broadcast_over")
    waiting = [pid for pid, _sid, status in rows if status in NOT_STARTED]
    if waiting:
        session.execute(update(Playback).where(in_list(session, Playback.id, waiting))
                        .values(status=PlaybackStatus.CANCELLED.value,
                                reason=f"{reason}: {REASON}" if reason else REASON,
                                updated_at=now))
    open_at = sorted({sid for _pid, sid, _status in rows})
    plans_changed(session, open_at)
    commands = [(sid, controls.create(session=session, station_id=sid, kind=CommandType.STOP,
                                      args={"broadcast_id": broadcast.id}
                                      | ({"reason": reason} if reason else {}), by=by)[1])
                for sid in open_at]
    audit.record(session=session, actor=actor, action=STOPPED, target_type="broadcast",
                 target_id=broadcast.id, bulletin_id=broadcast.bulletin_id,
                 cancelled=len(waiting), stations=open_at)
    return Stopped(broadcast.id, waiting, commands)


def send(*, session: Session, stopped: Stopped,
         send_command: Callable[[int, Command], None] | None) -> None:
    """Send a stop's commands once the session commits (their records first)."""
    if send_command is not None:
        for station_id, command in stopped.commands:
            after_commit(session, partial(send_command, station_id, command))
