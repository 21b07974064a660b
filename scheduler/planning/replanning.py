"""Edits outside timetables that move planned slots: each stores the edit, then re-plans.

A station's zone or quiet hours, a group's members or quiet hours, a bulletin's broadcast
dates, a programme's items. The stations whose plans changed are noted on the session (see
planner) and go out when it commits.
"""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy.orm import Session

from scheduler.bulletins import service as bulletins
from scheduler.bulletins.models import Bulletin
from scheduler.bulletins.schemas import BulletinUpdate
from scheduler.groups import service as groups
from scheduler.groups.models import StationGroup
from scheduler.groups.schemas import GroupUpdate
from scheduler.planning import planner, scheduling
from scheduler.programmes import service as programmes
from scheduler.programmes.models import Programme
from scheduler.programmes.schemas import ProgrammeUpdate
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.timetables import service as timetables
from scheduler.timetables import targets
from scheduler.unitofwork import plans_changed
from scheduler.users.models import User
from wardcast.protocol import utcnow


def update_station(*, session: Session, station_id: int, user: User, name: str | None,
                   timezone: str | None, quiet: tuple[time | None, time | None] | None,
                   horizon: timedelta) -> Station:
    """Rename a station or change its zone or quiet hours; re-plan what plays on it."""
    station = stations.update(session=session, station_id=station_id, user=user, name=name,
                              timezone=timezone, quiet=quiet)
    planner.replan_station(session=session, station_id=station.id, now=utcnow(),
                           horizon=horizon)
    plans_changed(session, {station.id})  # its plan carries its name and zone too
    return station


def update_group(*, session: Session, group_id: int, change: GroupUpdate, by: User,
                 horizon: timedelta) -> StationGroup:
    """Change a group; the timetables aimed at it follow its members and quiet hours."""
    group = groups.update(session=session, group_id=group_id, change=change, by=by)
    given = change.model_fields_set
    if change.station_ids is not None or "parent_id" in given:
        _retarget(session, horizon)
    if {"quiet_start", "quiet_end", "parent_id"} & given:
        for station_id in groups.station_ids(session=session, group_ids=[group.id]):
            planner.replan_station(session=session, station_id=station_id, now=utcnow(),
                                   horizon=horizon)
    return group


def _retarget(session: Session, horizon: timedelta) -> None:
    """Re-plan the live timetables whose groups changed members."""
    now = utcnow()
    for timetable in timetables.active(session=session, now=now):
        before = {s.id for s in timetable.stations}
        if targets.retarget(session=session, timetable=timetable):
            plans_changed(session, before)  # a station that left must drop the slots
            planner.replan(session=session, timetable=timetable, now=now, horizon=horizon,
                           reason="station left the timetable's group", settle=True)


def update_bulletin(*, session: Session, bulletin_id: int, change: BulletinUpdate,
                    horizon: timedelta) -> Bulletin:
    """Change a bulletin; slots outside its broadcast dates end `skipped`, and slots its
    new dates allow are planned."""
    bulletin = bulletins.update(session=session, bulletin_id=bulletin_id, change=change)
    now = utcnow()
    planner.expire_bulletin(session=session, bulletin_id=bulletin.id, now=now)
    planner.plan(session=session, now=now, horizon=horizon)
    return bulletin


def update_programme(*, session: Session, programme_id: int, change: ProgrammeUpdate,
                     horizon: timedelta, lookahead: timedelta) -> Programme:
    """Rename or re-order a programme; the timetables playing it are re-planned and checked
    for clashes."""
    programme = programmes.update(session=session, programme_id=programme_id, change=change)
    if change.items is not None:
        for timetable in programmes.timetables_using(session=session,
                                                     programme_id=programme_id):
            programmes.get_schedulable(session=session, programme_id=programme_id,
                                       field="items")
            planner.replan(session=session, timetable=timetable, now=utcnow(),
                           horizon=horizon, reason="programme changed")
            scheduling.check(session=session, timetable=timetable, now=utcnow(),
                             lookahead=lookahead, displace=False)
    return programme
