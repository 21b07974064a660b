"""Group routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from scheduler.audit import service as audit
from scheduler.deps import AdminDep, RuntimeDep, SessionDep, UserDep, actor
from scheduler.groups import service
from scheduler.groups.models import StationGroup
from scheduler.groups.schemas import GroupCreate, GroupList, GroupRead, GroupUpdate
from scheduler.ids import IdPath, Offset
from scheduler.planning import replanning

router = APIRouter(prefix="/groups", tags=["groups"])


def _read(group: StationGroup, wards: frozenset[str] | None = None) -> GroupRead:
    """A group as a user sees it: a ward-limited one sees only their own members."""
    return GroupRead(id=group.id, name=group.name, kind=group.kind, parent_id=group.parent_id,
                     station_ids=service.members_in(group, wards),
                     quiet_start=group.quiet_start, quiet_end=group.quiet_end,
                     created_at=group.created_at)


@router.post("", status_code=201)
def create(body: GroupCreate, request: Request, session: SessionDep,
           user: AdminDep) -> GroupRead:
    """Create a group (city, ward, loudspeaker cluster or custom), optionally in a parent."""
    group = service.create(session=session, data=body, by=user)
    audit.record(session=session, actor=actor(request, user), action="group.create",
                 target_type="group", target_id=group.id, **body.model_dump())
    return _read(group, user.wards)


@router.patch("/{group_id}")
def update(group_id: IdPath, body: GroupUpdate, request: Request, session: SessionDep,
           runtime: RuntimeDep, user: AdminDep) -> GroupRead:
    """Rename, move, change members or quiet hours; timetables follow the new members."""
    group = replanning.update_group(session=session, group_id=group_id, change=body, by=user,
                                    horizon=runtime.horizon)
    audit.record(session=session, actor=actor(request, user), action="group.update",
                 target_type="group", target_id=group.id, **body.model_dump(exclude_unset=True))
    return _read(group, user.wards)


@router.get("")
def listing(session: SessionDep, user: UserDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Offset = 0) -> GroupList:
    """All groups; a ward-limited user sees those reaching their wards, with their own
    stations only."""
    rows, total = service.listing(session=session, limit=limit, offset=offset,
                                  wards=user.wards)
    return GroupList(items=[_read(g, user.wards) for g in rows], total=total)


@router.get("/{group_id}")
def read(group_id: IdPath, session: SessionDep, user: UserDep) -> GroupRead:
    """One group, with its direct members."""
    return _read(service.get(session=session, group_id=group_id, user=user), user.wards)


@router.get("/{group_id}/stations")
def stations(group_id: IdPath, session: SessionDep, user: UserDep) -> list[int]:
    """Every station in the group and its sub-groups (of your wards, if you are limited)."""
    service.get(session=session, group_id=group_id, user=user)
    return service.station_ids(session=session, group_ids=[group_id], field="group_id",
                               wards=user.wards)
