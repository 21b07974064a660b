"""Command routes."""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.context import AppContext
from scheduler.controls import service
from scheduler.controls.models import StationCommand
from scheduler.deps import ApproverDep, RuntimeDep, SessionDep, UserDep, actor
from scheduler.ids import IdPath
from scheduler.stations import service as stations
from scheduler.unitofwork import after_commit
from scheduler.users.models import User
from wardcast.protocol import CommandType

router = APIRouter(prefix="/stations", tags=["controls"])


class CommandCreate(BaseModel):
    type: CommandType
    args: dict[str, Any] = Field(default_factory=dict)


class CommandRead(BaseModel):
    id: int
    command_id: str
    station_id: int
    type: str
    args: dict[str, Any]
    sent_at: datetime
    answered_at: datetime | None
    ok: bool | None
    detail: str | None

    @field_validator("args", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value


@router.post("/{station_id}/commands", status_code=202)
def send(station_id: IdPath, body: CommandCreate, request: Request, session: SessionDep,
         runtime: RuntimeDep, user: ApproverDep) -> CommandRead:
    """Send a command (stop, volume, test tone); the agent's answer lands in this record."""
    row = issue(station_id=station_id, kind=body.type, args=body.args, request=request,
                session=session, runtime=runtime, user=user)
    return CommandRead.model_validate(row, from_attributes=True)


def issue(*, station_id: int, kind: CommandType, args: dict[str, Any], request: Request,
          session: Session, runtime: AppContext, user: User) -> StationCommand:
    """Record, audit and (once committed) send a command to a station the user may see; the
    API and the station page both send through here. The caller checks the user's role."""
    stations.get(session=session, station_id=station_id, user=user)
    row, command = service.create(session=session, station_id=station_id, kind=kind,
                                  args=args, by=user)
    audit.record(session=session, actor=actor(request, user), action="station.command",
                 target_type="station", target_id=station_id, type=kind.value,
                 args=command.args, command_id=row.command_id)
    if runtime.dispatcher is not None:  # sent once the record of it is committed
        after_commit(session, partial(runtime.dispatcher.send_command, station_id, command))
    return row


@router.get("/{station_id}/commands")
def listing(station_id: IdPath, session: SessionDep, user: UserDep,
            limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[CommandRead]:
    """The latest commands sent to a station, with the agent's answers."""
    stations.get(session=session, station_id=station_id, user=user)
    return [CommandRead.model_validate(r, from_attributes=True)
            for r in service.listing(session=session, station_id=station_id, limit=limit)]
