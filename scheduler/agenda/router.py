"""Agenda routes: JSON between two instants, and an iCalendar feed."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from scheduler.agenda import ical, service
from scheduler.deps import Credentials, SessionDep, UserDep
from scheduler.errors import NotAuthenticated
from scheduler.ids import IdPath
from scheduler.instants import AwareInstant
from scheduler.stations import service as stations
from scheduler.users import service as users
from wardcast.protocol import utcnow

router = APIRouter(prefix="/stations", tags=["agenda"])

FEED_PAST = timedelta(days=7)
FEED_AHEAD = timedelta(days=31)


class Agenda(BaseModel):
    station_id: int
    timezone: str
    items: list[service.AgendaItem]
    total: int


@router.get("/{station_id}/agenda")
def agenda(station_id: IdPath, session: SessionDep, user: UserDep,
           start: Annotated[AwareInstant, Query(alias="from")],
           end: Annotated[AwareInstant, Query(alias="to")]) -> Agenda:
    """What the station will play in [from, to): planned playbacks, then projected ones."""
    station = stations.get(session=session, station_id=station_id, user=user)
    items = service.agenda(session=session, station=station, start=start, end=end)
    return Agenda(station_id=station.id, timezone=station.timezone,
                  items=items, total=len(items))


@router.get("/{station_id}/calendar.ics", response_class=Response)
def calendar(station_id: IdPath, session: SessionDep, credentials: Credentials,
             token: Annotated[str | None, Query(description="an API token, for calendar apps "
                                                            "that cannot send headers")] = None
             ) -> Response:
    """The station's agenda from a week ago to a month ahead, as iCalendar."""
    secret = credentials.credentials if credentials else token
    user = users.user_for_token(session=session, token=secret) if secret else None
    if user is None:
        raise NotAuthenticated("Cần mã truy cập hợp lệ — a valid token is required")
    station = stations.get(session=session, station_id=station_id, user=user)
    now = utcnow()
    items = service.agenda(session=session, station=station, start=now - FEED_PAST,
                           end=now + FEED_AHEAD)
    return Response(ical.feed(station, items), media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition":
                             f'inline; filename="station-{station.id}.ics"'})
