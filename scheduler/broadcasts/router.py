"""Broadcast routes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from scheduler.audit import service as audit
from scheduler.broadcasts import service, stopping
from scheduler.broadcasts.schemas import BroadcastCreate, BroadcastRead
from scheduler.deps import ApproverDep, RuntimeDep, SessionDep, actor
from scheduler.ids import IdPath
from wardcast.protocol import utcnow

router = APIRouter(prefix="/broadcasts", tags=["broadcasts"])


@router.post("", status_code=201)
def create(body: BroadcastCreate, request: Request, session: SessionDep, runtime: RuntimeDep,
           user: ApproverDep) -> BroadcastRead:
    """Play an approved bulletin now; an emergency interrupts whatever is playing. To groups
    or everyone it is one message per group, which the broker fans out."""
    created = service.create(session=session, data=body, by=user)
    broadcast = created.broadcast
    audit.record(session=session, actor=actor(request, user), action="broadcast.create",
                 target_type="broadcast", target_id=broadcast.id, **body.model_dump())
    dispatcher = runtime.dispatcher
    created = service.send(session=session, created=created,
                           publish=dispatcher.publish if dispatcher is not None else None)
    return BroadcastRead(id=broadcast.id, bulletin_id=broadcast.bulletin_id,
                         stream_id=broadcast.stream_id, duration_s=broadcast.duration_s,
                         priority=broadcast.priority, repeat=broadcast.repeat,
                         gap_s=broadcast.gap_s, valid_until=broadcast.valid_until,
                         created_at=broadcast.created_at, everyone=broadcast.everyone,
                         station_ids=created.station_ids,
                         playback_ids=created.playback_ids)


class StopRead(BaseModel):
    id: int
    cancelled: list[int]  # playbacks that had not started: now `cancelled`
    station_ids: list[int]  # stations sent a STOP (what plays there ends `interrupted`)


@router.post("/{broadcast_id}/stop")
def stop(broadcast_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
         user: ApproverDep) -> StopRead:
    """Stop a broadcast on every station where it is still open: repeats not started are
    cancelled, and each such station is told to cut it if it plays."""
    stopped = stopping.stop(session=session, broadcast_id=broadcast_id, by=user,
                            actor=actor(request, user), now=utcnow())
    dispatcher = runtime.dispatcher
    stopping.send(session=session, stopped=stopped,
                  send_command=dispatcher.send_command if dispatcher is not None else None)
    return StopRead(id=stopped.broadcast_id, cancelled=stopped.cancelled,
                    station_ids=[sid for sid, _ in stopped.commands])

