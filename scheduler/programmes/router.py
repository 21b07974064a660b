"""Programme routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.bulletins.models import Bulletin, BulletinStatus
from scheduler.deps import EditorDep, RuntimeDep, SessionDep, UserDep, actor
from scheduler.ids import IdPath, Offset
from scheduler.planning import replanning
from scheduler.programmes import layout, service
from scheduler.programmes.models import Programme
from scheduler.programmes.schemas import (
    ProgrammeCreate,
    ProgrammeItemRead,
    ProgrammeList,
    ProgrammeRead,
    ProgrammeUpdate,
)

router = APIRouter(prefix="/programmes", tags=["programmes"])


def _read(session: Session, programme: Programme) -> ProgrammeRead:
    laid = layout.parts(session, programme)
    items = []
    schedulable = True
    for item, part in zip(programme.items, laid, strict=True):
        bulletin = session.get(Bulletin, item.bulletin_id)
        assert bulletin is not None
        schedulable &= (bulletin.status == BulletinStatus.APPROVED
                        and bulletin.archived_at is None)
        items.append(ProgrammeItemRead(
            position=item.position, bulletin_id=item.bulletin_id, title=bulletin.title,
            duration_ms=bulletin.duration_ms, gap_after_ms=item.gap_after_ms,
            offset_ms=part.offset // layout.MS))
    return ProgrammeRead(id=programme.id, title=programme.title, items=items,
                         duration_ms=layout.span(laid) // layout.MS, schedulable=schedulable,
                         created_at=programme.created_at, updated_at=programme.updated_at)


@router.post("", status_code=201)
def create(body: ProgrammeCreate, request: Request, session: SessionDep,
           user: EditorDep) -> ProgrammeRead:
    """Make a programme: bulletins in playing order, each with the silence after it."""
    programme = service.create(session=session, data=body, by=user)
    audit.record(session=session, actor=actor(request, user), action="programme.create",
                 target_type="programme", target_id=programme.id, **body.model_dump())
    return _read(session, programme)


@router.get("")
def listing(session: SessionDep, _user: UserDep,
            limit: Annotated[int, Query(ge=1, le=500)] = 50,
            offset: Offset = 0) -> ProgrammeList:
    """List live programmes, newest first."""
    rows, total = service.listing(session=session, limit=limit, offset=offset)
    return ProgrammeList(items=[_read(session, p) for p in rows], total=total)


@router.get("/{programme_id}")
def read(programme_id: IdPath, session: SessionDep, _user: UserDep) -> ProgrammeRead:
    """One programme with its items' offsets."""
    return _read(session, service.get(session=session, programme_id=programme_id))


@router.patch("/{programme_id}")
def update(programme_id: IdPath, body: ProgrammeUpdate, request: Request, session: SessionDep,
           runtime: RuntimeDep, user: EditorDep) -> ProgrammeRead:
    """Rename or re-order a programme; the timetables playing it are re-planned at once."""
    programme = replanning.update_programme(session=session, programme_id=programme_id,
                                            change=body, horizon=runtime.horizon,
                                            lookahead=runtime.lookahead)
    audit.record(session=session, actor=actor(request, user), action="programme.update",
                 target_type="programme", target_id=programme.id,
                 **body.model_dump(exclude_unset=True))
    return _read(session, programme)


@router.delete("/{programme_id}", status_code=204)
def delete(programme_id: IdPath, request: Request, session: SessionDep,
           user: EditorDep) -> Response:
    """Delete a programme no live timetable plays (past playbacks keep naming it)."""
    service.delete(session=session, programme_id=programme_id)
    audit.record(session=session, actor=actor(request, user), action="programme.delete",
                 target_type="programme", target_id=programme_id)
    return Response(status_code=204)
