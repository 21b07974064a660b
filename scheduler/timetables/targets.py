"""Which stations a timetable plays on: those named, and the members of its groups.

Group members are resolved when the timetable is stored and again whenever a group's
membership changes (`retarget`), so a station joining a group gets its future slots and a
station leaving it loses them.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from scheduler.errors import InvalidInput
from scheduler.groups import service as groups
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.timetables.models import Timetable, timetable_groups, timetable_stations
from scheduler.users.models import User


def resolve(*, session: Session, station_ids: list[int], group_ids: list[int],
            user: User | None) -> list[Station]:
    """Return the named stations, then the groups' members (with sub-groups), once each."""
    members = groups.station_ids(session=session, group_ids=group_ids) if group_ids else []
    wanted = list(dict.fromkeys([*station_ids, *members]))
    if not wanted and user is not None:
        raise InvalidInput("Cần chọn ít nhất một trạm hoặc nhóm trạm — give station_ids or "
                           "group_ids with at least one station", field="station_ids")
    return stations.get_many(session=session, station_ids=wanted, field="station_ids",
                             user=user)


def write(*, session: Session, timetable: Timetable, targets: list[Station],
          direct: list[int], group_ids: list[int]) -> None:
    """Store a timetable's stations (marking the named ones) and groups."""
    named = set(direct)
    session.execute(delete(timetable_stations)
                    .where(timetable_stations.c.timetable_id == timetable.id))
    session.execute(delete(timetable_groups).where(timetable_groups.c.timetable_id == timetable.id))
    if targets:
        session.execute(insert(timetable_stations), [
            {"timetable_id": timetable.id, "station_id": s.id, "direct": s.id in named}
            for s in targets])
    if group_ids:
        session.execute(insert(timetable_groups), [
            {"timetable_id": timetable.id, "group_id": g} for g in dict.fromkeys(group_ids)])
    session.expire(timetable, ["stations"])


def direct_ids(*, session: Session, timetable: Timetable) -> list[int]:
    """Return the stations named in the timetable itself."""
    return list(session.scalars(select(timetable_stations.c.station_id).where(
        timetable_stations.c.timetable_id == timetable.id, timetable_stations.c.direct)
        .order_by(timetable_stations.c.station_id)))


def group_ids(*, session: Session, timetable: Timetable) -> list[int]:
    """Return the groups the timetable targets."""
    return list(session.scalars(select(timetable_groups.c.group_id).where(
        timetable_groups.c.timetable_id == timetable.id).order_by(timetable_groups.c.group_id)))


def retarget(*, session: Session, timetable: Timetable) -> bool:
    """Bring a timetable's stations in line with its groups now; tell whether they changed."""
    gids = group_ids(session=session, timetable=timetable)
    if not gids:
        return False
    direct = direct_ids(session=session, timetable=timetable)
    targets = resolve(session=session, station_ids=direct, group_ids=gids, user=None)
    if {s.id for s in targets} == {s.id for s in timetable.stations}:
        return False
    write(session=session, timetable=timetable, targets=targets, direct=direct, group_ids=gids)
    return True
