"""Timetable routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.deps import EditorDep, RuntimeDep, SessionDep, UserDep, actor
from scheduler.groups import service as groups
from scheduler.ids import IdPath, Offset
from scheduler.planning import scheduling
from scheduler.timetables import service, targets
from scheduler.timetables.models import Timetable
from scheduler.timetables.schemas import (
    TimetableCreate,
    TimetableList,
    TimetableRead,
    TimetableUpdate,
)
from scheduler.users.models import User

router = APIRouter(prefix="/timetables", tags=["timetables"])


def _read(session: Session, timetable: Timetable, user: User) -> TimetableRead:
    """A timetable as a user sees it: a ward-limited one sees only their own stations (and
    the groups reaching them), and how many stations of other wards it also plays on."""
    own, others = service.own_stations(timetable, user.wards)
    seen_groups = groups.visible_ids(session=session, wards=user.wards)
    return TimetableRead(
        id=timetable.id, bulletin_id=timetable.bulletin_id, programme_id=timetable.programme_id,
        stream_id=timetable.stream_id, duration_s=timetable.duration_s,
        station_ids=[s.id for s in own], other_stations=others,
        group_ids=[g for g in targets.group_ids(session=session, timetable=timetable)
                   if seen_groups is None or g in seen_groups],
        starts_at=timetable.starts_at,
        floating=timetable.floating, recurrence=timetable.recurrence, until=timetable.until,
        priority=timetable.priority, created_at=timetable.created_at,
        deleted_at=timetable.deleted_at,
        planned=service.planned(session=session, timetable=timetable,
                                station_ids=[s.id for s in own] if others else None))


@router.post("", status_code=201)
def create(body: TimetableCreate, request: Request, session: SessionDep, runtime: RuntimeDep,
           user: EditorDep) -> TimetableRead:
    """Put an approved bulletin on stations, once or recurring; plans go out at once."""
    timetable = scheduling.create(session=session, data=body, by=user,
                                  default_zone=runtime.settings.timezone,
                                  horizon=runtime.horizon, lookahead=runtime.lookahead)
    audit.record(session=session, actor=actor(request, user), action="timetable.create",
                 target_type="timetable", target_id=timetable.id, **body.model_dump())
    return _read(session, timetable, user)


@router.get("")
def listing(session: SessionDep, user: UserDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
            offset: Offset = 0) -> TimetableList:
    """List live timetables, newest first; a ward-limited user sees those playing in their
    wards, with only their own stations."""
    rows, total = service.listing(session=session, limit=limit, offset=offset,
                                  wards=user.wards)
    return TimetableList(items=[_read(session, t, user) for t in rows], total=total)


@router.get("/{timetable_id}")
def read(timetable_id: IdPath, session: SessionDep, user: UserDep) -> TimetableRead:
    """One timetable."""
    return _read(session, service.visible(session=session, timetable_id=timetable_id,
                                          user=user), user)


@router.patch("/{timetable_id}")
def update(timetable_id: IdPath, body: TimetableUpdate, request: Request, session: SessionDep,
           runtime: RuntimeDep, user: EditorDep) -> TimetableRead:
    """Change a timetable; slots it no longer wants become `cancelled`, plans go out at once."""
    timetable = scheduling.update(session=session, timetable_id=timetable_id,
                                  change=body, by=user,
                                  default_zone=runtime.settings.timezone,
                                  horizon=runtime.horizon, lookahead=runtime.lookahead)
    audit.record(session=session, actor=actor(request, user), action="timetable.update",
                 target_type="timetable", target_id=timetable.id,
                 **body.model_dump(exclude_unset=True))
    return _read(session, timetable, user)


@router.delete("/{timetable_id}", status_code=204)
def delete(timetable_id: IdPath, request: Request, session: SessionDep,
           user: EditorDep) -> Response:
    """Delete a timetable; its future playbacks become `cancelled`."""
    scheduling.delete(session=session, timetable_id=timetable_id, by=user)
    audit.record(session=session, actor=actor(request, user), action="timetable.delete",
                 target_type="timetable", target_id=timetable_id)
    return Response(status_code=204)
