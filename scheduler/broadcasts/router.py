"""Broadcast routes."""

from __future__ import annotations

from fastapi import APIRouter, Request

from scheduler.audit import service as audit
from scheduler.broadcasts import service
from scheduler.broadcasts.schemas import BroadcastCreate, BroadcastRead
from scheduler.deps import ApproverDep, RuntimeDep, SessionDep, actor

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
                         priority=broadcast.priority, repeat=broadcast.repeat,
                         gap_s=broadcast.gap_s, valid_until=broadcast.valid_until,
                         created_at=broadcast.created_at, everyone=broadcast.everyone,
                         station_ids=created.station_ids,
                         playback_ids=created.playback_ids)
