"""The audit log, for admins."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, field_validator

from scheduler.audit import service
from scheduler.deps import AdminDep, SessionDep
from scheduler.ids import Offset
from scheduler.instants import AwareInstant
from scheduler.stations import service as stations

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: int | None
    username: str
    action: str
    target_type: str
    target_id: str | None
    remote_addr: str | None
    detail: dict[str, Any]

    @field_validator("detail", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value


class AuditList(BaseModel):
    items: list[AuditRead]
    total: int


@router.get("")
def listing(session: SessionDep, admin: AdminDep, username: str | None = None,
            action: str | None = None, target_type: str | None = None,
            target_id: str | None = None,
            start: Annotated[AwareInstant | None, Query(alias="from")] = None,
            end: Annotated[AwareInstant | None, Query(alias="to")] = None,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Offset = 0) -> AuditList:
    """Who changed what, when, and from where; newest first. An admin limited to some wards
    reads what they did and what was done to their wards' stations."""
    scope = (service.Scope(user_id=admin.id, station_ids=stations.ids_in_wards(
        session=session, wards=admin.wards)) if admin.wards is not None else None)
    rows, total = service.listing(session=session, limit=limit, offset=offset,
                                  username=username, action=action, target_type=target_type,
                                  target_id=target_id, start=start, end=end, scope=scope)
    return AuditList(items=[AuditRead.model_validate(r) for r in rows], total=total)
