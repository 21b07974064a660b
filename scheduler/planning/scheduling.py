"""Change a timetable and settle its slots at once: the one path the API and the pages share.

The stations whose plans changed are noted on the session (see planner), and go out when it
commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from scheduler.errors import InvalidInput
from scheduler.planning import conflicts, planner
from scheduler.planning.rules import Rules
from scheduler.programmes import layout
from scheduler.timetables import recurrence, service
from scheduler.timetables.models import Timetable
from scheduler.timetables.schemas import TimetableCreate, TimetableUpdate
from scheduler.users.models import User
from wardcast.protocol import utcnow


def create(*, session: Session, data: TimetableCreate, by: User, default_zone: str,
           horizon: timedelta, lookahead: timedelta) -> Timetable:
    """Store and plan a timetable; refuse it if it could never play or if it clashes."""
    now = utcnow()
    timetable = service.create(session=session, data=data, by=by, default_zone=default_zone)
    if timetable.recurrence is None:
        _refuse_unplayable(session, timetable)
    planner.plan(session=session, now=now, horizon=horizon, only=[timetable],
                 settle=False)  # overlaps are refused (below), not settled
    check(session=session, timetable=timetable, now=now, lookahead=lookahead,
          displace=data.displace)
    return timetable


def _refuse_unplayable(session: Session, timetable: Timetable) -> None:
    """A single broadcast that could never be planned is refused, with the reason."""
    laid = layout.for_timetable(session, timetable)
    rules = Rules.load(session, timetable, list(timetable.stations),
                       bulletin_ids=layout.bulletin_ids(laid))
    for station in timetable.stations:
        zone = ZoneInfo(station.timezone)
        wall = recurrence.local_start(starts_at=timetable.starts_at,
                                      starts_at_local=timetable.starts_at_local,
                                      floating=timetable.floating, zone=zone)
        why = rules.refusal(station, recurrence.to_utc(wall, zone), layout.span(laid))
        if why:
            raise InvalidInput(f"Không thể phát: {why}", field="starts_at")


def update(*, session: Session, timetable_id: int, change: TimetableUpdate, by: User,
           default_zone: str, horizon: timedelta,
           lookahead: timedelta) -> Timetable:
    """Change a timetable and re-plan its future slots."""
    now = utcnow()
    timetable = service.update(session=session, timetable_id=timetable_id, change=change,
                               default_zone=default_zone, by=by)
    planner.replan(session=session, timetable=timetable, now=now, horizon=horizon)
    check(session=session, timetable=timetable, now=now, lookahead=lookahead,
          displace=change.displace)
    return timetable


def check(*, session: Session, timetable: Timetable, now: datetime, lookahead: timedelta,
          displace: bool) -> None:
    """Refuse clashes inside the horizon (planned playbacks) and past it (expansions)."""
    conflicts.resolve(session, timetable_id=timetable.id, priority=timetable.priority,
                      displace=displace)
    conflicts.resolve_ahead(session, timetable=timetable, now=now, ahead=lookahead,
                            displace=displace)


def delete(*, session: Session, timetable_id: int, by: User) -> None:
    """Delete a timetable and cancel its future playbacks."""
    service.delete(session=session, timetable_id=timetable_id, by=by)
    planner.cancel_timetable(session=session, timetable_id=timetable_id, now=utcnow())
