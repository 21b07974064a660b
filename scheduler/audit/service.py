"""Write and read the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.audit.models import AuditEvent
from scheduler.db import in_list
from wardcast.protocol import utcnow


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where."""

    user_id: int | None
    username: str
    remote_addr: str | None = None


CLI = Actor(user_id=None, username="(command line)")


def record(*, session: Session, actor: Actor, action: str, target_type: str,
           target_id: object = None, **detail: Any) -> None:
    """Add one audit row in the caller's transaction, so it commits with the change."""
    session.add(AuditEvent(
        at=utcnow(), user_id=actor.user_id, username=actor.username, action=action,
        target_type=target_type, target_id=None if target_id is None else str(target_id),
        remote_addr=actor.remote_addr,
        detail=json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True)))


@dataclass(frozen=True)
class Scope:
    """What of the log a ward-limited admin reads: what they did, and what was done to the
    stations of their wards (the rest may name other wards, their stations and users)."""

    user_id: int
    station_ids: list[int]


def listing(*, session: Session, limit: int, offset: int, username: str | None = None,
            action: str | None = None, target_type: str | None = None,
            target_id: str | None = None, start: datetime | None = None,
            end: datetime | None = None, scope: Scope | None = None
            ) -> tuple[list[AuditEvent], int]:
    """Return a page of the audit log (within a scope, if given), newest first, and the
    total."""
    query = select(AuditEvent)
    if scope is not None:
        query = query.where((AuditEvent.user_id == scope.user_id) | (
            (AuditEvent.target_type == "station")
            & in_list(session, AuditEvent.target_id, [str(i) for i in scope.station_ids])))
    for column, value in ((AuditEvent.username, username), (AuditEvent.action, action),
                          (AuditEvent.target_type, target_type),
                          (AuditEvent.target_id, target_id)):
        if value is not None:
            query = query.where(column == value)
    if start is not None:
        query = query.where(AuditEvent.at >= start)
    if end is not None:
        query = query.where(AuditEvent.at < end)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit).offset(offset))
    return list(rows), total
