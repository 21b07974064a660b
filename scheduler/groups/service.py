"""Create and change groups; resolve groups (with their sub-groups) to stations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time

from sqlalchemy import func, select
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from scheduler.db import in_list
from scheduler.errors import Conflict, InvalidInput, NotFound
from scheduler.groups.models import StationGroup, group_members
from scheduler.groups.schemas import GroupCreate, GroupUpdate
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.unitofwork import memberships_changed, plans_changed
from scheduler.users.models import User
from wardcast.protocol import utcnow


class GroupNotFound(NotFound):
    code = "group_not_found"


def get(*, session: Session, group_id: int, field: str = "group_id",
        user: User | None = None) -> StationGroup:
    """Return a group (one a ward-limited user may see, if a user is given)."""
    group = session.get(StationGroup, group_id)
    if group is None:
        raise GroupNotFound(f"Không tìm thấy nhóm trạm {group_id} — group not found",
                            field=field)
    seen = visible_ids(session=session, wards=user.wards) if user is not None else None
    if seen is not None and group_id not in seen:
        raise stations.OutsideWards("Nhóm trạm này nằm ngoài các phường của bạn — this group "
                                    "is outside your wards", field=field)
    return group


def visible_ids(*, session: Session, wards: frozenset[str] | None) -> set[int] | None:
    """Return the groups that reach a station of these wards, with the groups above them
    (None: every group, for a user with no ward limit)."""
    if wards is None:
        return None
    found: set[int] = set()
    level = set(session.scalars(
        select(group_members.c.group_id).join(Station, Station.id == group_members.c.station_id)
        .where(Station.ward.in_(sorted(wards))).distinct()))
    parents = dict(session.execute(select(StationGroup.id, StationGroup.parent_id)).all())
    while level:
        found |= level
        level = {p for g in level if (p := parents.get(g)) is not None} - found
    return found


def _check_quiet(start: time | None, end: time | None) -> None:
    if (start is None) != (end is None):
        raise InvalidInput("Giờ im lặng cần cả giờ bắt đầu và giờ kết thúc — quiet hours need "
                           "both quiet_start and quiet_end", field="quiet_end")


def _check_parent(session: Session, group: StationGroup, parent_id: int | None) -> None:
    seen = {group.id} if group.id else set()
    current = parent_id
    while current is not None:
        if current in seen:
            raise InvalidInput("Nhóm cha tạo thành vòng lặp — parent_id would make a cycle",
                               field="parent_id")
        seen.add(current)
        current = get(session=session, group_id=current, field="parent_id").parent_id


def create(*, session: Session, data: GroupCreate, by: User) -> StationGroup:
    """Create a group of stations."""
    if session.scalar(select(StationGroup).where(StationGroup.name == data.name.strip())):
        raise Conflict(f"Nhóm {data.name} đã tồn tại — group name already used", field="name")
    _check_quiet(data.quiet_start, data.quiet_end)
    group = StationGroup(name=data.name.strip(), kind=data.kind, created_at=utcnow(),
                         quiet_start=data.quiet_start, quiet_end=data.quiet_end)
    _check_parent(session, group, data.parent_id)
    group.parent_id = data.parent_id
    group.stations = stations.get_many(session=session, station_ids=data.station_ids,
                                       field="station_ids", user=by)
    session.add(group)
    session.flush()
    _moved(session, [s.id for s in group.stations], before={})  # a new group: new to all
    return group


def update(*, session: Session, group_id: int, change: GroupUpdate, by: User) -> StationGroup:
    """Rename, re-parent, change members or quiet hours (a ward-limited admin: only a group
    whose stations, with its sub-groups', are all in their wards)."""
    group = get(session=session, group_id=group_id, user=by)
    if by.wards is not None:
        stations.get_many(session=session, field="group_id", user=by,
                          station_ids=station_ids(session=session, group_ids=[group_id]))
    given = change.model_fields_set
    reached = set(station_ids(session=session, group_ids=[group_id]))
    before = memberships(session=session, station_ids=reached | set(change.station_ids or ()))
    if change.name is not None and change.name.strip() != group.name:
        if session.scalar(select(StationGroup).where(StationGroup.name == change.name.strip())):
            raise Conflict(f"Nhóm {change.name} đã tồn tại — group name already used",
                           field="name")
        group.name = change.name.strip()
    if "parent_id" in given:
        _check_parent(session, group, change.parent_id)
        group.parent_id = change.parent_id
    if change.station_ids is not None:
        group.stations = stations.get_many(session=session, station_ids=change.station_ids,
                                           field="station_ids", user=by)
    if "quiet_start" in given or "quiet_end" in given:
        _check_quiet(change.quiet_start, change.quiet_end)
        group.quiet_start, group.quiet_end = change.quiet_start, change.quiet_end
    session.flush()
    if change.station_ids is not None or "parent_id" in given:
        # a plan lists its station's groups, with those above them: the stations that
        # joined, left, or moved with the group get new plans
        reached |= set(station_ids(session=session, group_ids=[group_id]))
        _moved(session, reached, before=before)
    return group


def _moved(session: Session, reached: Iterable[int], *, before: dict[int, list[int]]) -> None:
    """A change touched these stations: their plans go out again (they list their groups);
    those whose groups did change are marked (a broadcast soon after sends them their plans
    too: their agents read a new group's topic once the plan came), and the broker is told
    (on dynamic security a station whose roles change is disconnected once)."""
    touched = sorted(set(reached))
    after = memberships(session=session, station_ids=touched)
    moved = {sid: (before.get(sid, []), after[sid]) for sid in touched
             if sorted(before.get(sid, [])) != sorted(after[sid])}
    if moved:
        session.execute(update_rows(Station).where(in_list(session, Station.id, sorted(moved)))
                        .values(groups_changed_at=utcnow()))
    plans_changed(session, touched)
    memberships_changed(session, moved)


def all_memberships(*, session: Session) -> dict[int, list[int]]:
    """Return memberships() of every station (no group: an empty list)."""
    return memberships(session=session, station_ids=session.scalars(select(Station.id)))


def memberships(*, session: Session, station_ids: Iterable[int]) -> dict[int, list[int]]:
    """Return each station's groups, with every group above them: the groups whose urgent
    messages reach it (a broadcast to a group reaches its sub-groups' stations too)."""
    ids = sorted(set(station_ids))
    direct: dict[int, set[int]] = {station_id: set() for station_id in ids}
    for start in range(0, len(ids), 500):
        for group_id, station_id in session.execute(
                select(group_members.c.group_id, group_members.c.station_id)
                .where(group_members.c.station_id.in_(ids[start:start + 500]))):
            direct[station_id].add(group_id)
    # Groups are few (a city, its wards, some clusters): read them all once.
    parents: dict[int, int | None] = dict(session.execute(
        select(StationGroup.id, StationGroup.parent_id)).all()) if any(direct.values()) else {}
    found: dict[int, list[int]] = {}
    for station_id, level in direct.items():
        closure: set[int] = set()
        while level - closure:
            closure |= level
            level = {p for g in level if (p := parents.get(g)) is not None}
        found[station_id] = sorted(closure)
    return found


def listing(*, session: Session, limit: int, offset: int,
            wards: frozenset[str] | None = None) -> tuple[list[StationGroup], int]:
    """Return a page of groups (those reaching the given wards, if any) and the total."""
    query = select(StationGroup)
    seen = visible_ids(session=session, wards=wards)
    if seen is not None:
        query = query.where(StationGroup.id.in_(sorted(seen)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(StationGroup.id).limit(limit).offset(offset))
    return list(rows), total


def _descendants(session: Session, group_ids: Iterable[int]) -> set[int]:
    found = set(group_ids)
    frontier = set(found)
    while frontier:
        children = set(session.scalars(select(StationGroup.id)
                                       .where(StationGroup.parent_id.in_(frontier))))
        frontier = children - found
        found |= frontier
    return found


def station_ids(*, session: Session, group_ids: list[int], field: str = "group_ids",
                wards: frozenset[str] | None = None) -> list[int]:
    """Return the stations of these groups and of all their sub-groups (only those of the
    given wards, if any)."""
    for group_id in group_ids:
        get(session=session, group_id=group_id, field=field)
    every = _descendants(session, group_ids)
    query = select(group_members.c.station_id).where(group_members.c.group_id.in_(every))
    if wards is not None:
        query = query.join(Station, Station.id == group_members.c.station_id).where(
            Station.ward.in_(sorted(wards)))
    return sorted(set(session.scalars(query)))


def members_in(group: StationGroup, wards: frozenset[str] | None) -> list[int]:
    """Return a group's direct members (only those of the given wards, if any)."""
    return sorted(s.id for s in group.stations if wards is None or s.ward in wards)


def quiet_hours(*, session: Session, station: Station) -> tuple[time, time] | None:
    """Return the quiet hours in force at a station: its own, else its nearest group's."""
    if station.quiet_start is not None and station.quiet_end is not None:
        return station.quiet_start, station.quiet_end
    level = set(session.scalars(select(group_members.c.group_id)
                                .where(group_members.c.station_id == station.id)))
    while level:
        groups = list(session.scalars(select(StationGroup).where(StationGroup.id.in_(level))
                                      .order_by(StationGroup.id)))
        for group in groups:
            if group.quiet_start is not None and group.quiet_end is not None:
                return group.quiet_start, group.quiet_end
        level = {g.parent_id for g in groups if g.parent_id is not None}
    return None


def quiet_hours_many(*, session: Session, stations: list[Station]
                     ) -> dict[int, tuple[time, time] | None]:
    """Return quiet_hours for many stations with a few queries (the planner's whole fleet)."""
    found: dict[int, tuple[time, time] | None] = {}
    inherit = [s.id for s in stations if s.quiet_start is None or s.quiet_end is None]
    direct: dict[int, set[int]] = {}
    for start in range(0, len(inherit), 500):
        for group_id, station_id in session.execute(
                select(group_members.c.group_id, group_members.c.station_id)
                .where(group_members.c.station_id.in_(inherit[start:start + 500]))):
            direct.setdefault(station_id, set()).add(group_id)
    # Groups are few (a city, its wards, some clusters): read them all once.
    every = {row.id: row for row in session.execute(
        select(StationGroup.id, StationGroup.parent_id, StationGroup.quiet_start,
               StationGroup.quiet_end))} if direct else {}
    for station in stations:
        if station.quiet_start is not None and station.quiet_end is not None:
            found[station.id] = (station.quiet_start, station.quiet_end)
            continue
        found[station.id] = None
        level = direct.get(station.id, set())
        while level and found[station.id] is None:  # nearest level first, then lowest id
            rows = [every[g] for g in sorted(level) if g in every]
            found[station.id] = next(((r.quiet_start, r.quiet_end) for r in rows
                                      if r.quiet_start is not None and r.quiet_end is not None),
                                     None)
            level = {r.parent_id for r in rows if r.parent_id is not None}
    return found
