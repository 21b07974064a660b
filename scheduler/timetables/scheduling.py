"""Change a timetable and settle its slots at once: the one path the API and the pages share."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from scheduler.playbacks import conflicts, planner
from scheduler.timetables import service
from scheduler.timetables.models import Timetable
from scheduler.timetables.schemas import TimetableCreate, TimetableUpdate
from scheduler.users.models import User
from wardcast.protocol import utcnow


def create(*, session: Session, data: TimetableCreate, by: User, default_zone: str,
           horizon: timedelta, lookahead: timedelta) -> tuple[Timetable, set[int]]:
    """Store and plan a timetable; return it and the stations whose plans changed."""
    now = utcnow()
    timetable = service.create(session=session, data=data, by=by, default_zone=default_zone)
    changed = planner.plan(session=session, now=now, horizon=horizon, only=[timetable],
                           settle=False)  # overlaps are refused (below), not settled
    check(session=session, timetable=timetable, now=now, lookahead=lookahead,
          displace=data.displace)
    return timetable, changed


def update(*, session: Session, timetable_id: int, change: TimetableUpdate, by: User,
           default_zone: str, horizon: timedelta,
           lookahead: timedelta) -> tuple[Timetable, set[int]]:
    """Change a timetable and re-plan its future slots; return it and the stations changed."""
    now = utcnow()
    timetable = service.update(session=session, timetable_id=timetable_id, change=change,
                               default_zone=default_zone, by=by)
    changed = planner.replan(session=session, timetable=timetable, now=now, horizon=horizon)
    check(session=session, timetable=timetable, now=now, lookahead=lookahead,
          displace=change.displace)
    return timetable, changed


def check(*, session: Session, timetable: Timetable, now: datetime, lookahead: timedelta,
          displace: bool) -> None:
    """Refuse clashes inside the horizon (planned playbacks) and past it (expansions)."""
    conflicts.resolve(session, timetable_id=timetable.id, priority=timetable.priority,
                      displace=displace)
    conflicts.resolve_ahead(session, timetable=timetable, now=now, ahead=lookahead,
                            displace=displace)


def delete(*, session: Session, timetable_id: int, by: User) -> set[int]:
    """Delete a timetable and cancel its future playbacks; return the stations changed."""
    service.delete(session=session, timetable_id=timetable_id, by=by)
    return planner.cancel_timetable(session=session, timetable_id=timetable_id, now=utcnow())
