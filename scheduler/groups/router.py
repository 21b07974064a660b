"""Group routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.context import AppContext
from scheduler.deps import AdminDep, RuntimeDep, SessionDep, UserDep, actor
from scheduler.groups import service
from scheduler.groups.models import StationGroup
from scheduler.groups.schemas import GroupCreate, GroupList, GroupRead, GroupUpdate
from scheduler.ids import IdPath, Offset
from scheduler.playbacks import planner
from scheduler.timetables import service as timetables
from scheduler.timetables import targets
from wardcast.protocol import utcnow

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
    group = service.update(session=session, group_id=group_id, change=body, by=user)
    changed: set[int] = set()
    if body.station_ids is not None or "parent_id" in body.model_fields_set:
        changed = _retarget(session, runtime)
    if {"quiet_start", "quiet_end", "parent_id"} & body.model_fields_set:
        for station_id in service.station_ids(session=session, group_ids=[group.id]):
            changed |= planner.replan_station(session=session, station_id=station_id,
                                              now=utcnow(), horizon=runtime.horizon)
    audit.record(session=session, actor=actor(request, user), action="group.update",
                 target_type="group", target_id=group.id, **body.model_dump(exclude_unset=True))
    session.commit()
    runtime.push_plans(changed)
    return _read(group, user.wards)


def _retarget(session: Session, runtime: AppContext) -> set[int]:
    """Re-plan the live timetables whose groups changed members; return the stations touched."""
    now = utcnow()
    changed: set[int] = set()
    for timetable in timetables.active(session=session, now=now):
        before = {s.id for s in timetable.stations}
        if targets.retarget(session=session, timetable=timetable):
            changed |= before | planner.replan(
                session=session, timetable=timetable, now=now, horizon=runtime.horizon,
                reason="station left the timetable's group", settle=True)
    return changed


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
