"""Agenda routes: JSON between two instants, and an iCalendar feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from scheduler.agenda import ical, service
from scheduler.deps import Credentials, SessionDep, UserDep, current_user
from scheduler.errors import NotAuthenticated
from scheduler.ids import IdPath
from scheduler.instants import AwareInstant
from scheduler.stations import service as stations
from wardcast.protocol import utcnow

router = APIRouter(prefix="/stations", tags=["agenda"])

TOKEN_IN_ADDRESS = ("Mã đăng nhập và mã API không còn dùng được trong địa chỉ lịch; hãy tạo địa "
                    "chỉ lịch riêng cho trạm — login and API tokens are no longer accepted in "
                    "a calendar address: make a calendar feed (POST /api/v1/feeds)")


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
def calendar(station_id: IdPath, request: Request, session: SessionDep,
             credentials: Credentials,
             token: Annotated[str | None, Query(
                 max_length=200, deprecated=True,
                 description="no longer accepted: login and API tokens must not travel in "
                             "addresses; make a calendar feed (POST /api/v1/feeds)")] = None
             ) -> Response:
    """The station's agenda from a week ago to a month ahead, as iCalendar (with a token in
    the Authorization header; calendar apps use a feed's address instead)."""
    if credentials is None and token is not None:
        raise NotAuthenticated(TOKEN_IN_ADDRESS)
    user = current_user(request, session, credentials)
    station = stations.get(session=session, station_id=station_id, user=user)
    return ical.response(station, service.feed_items(session=session, station=station,
                                                     now=utcnow()))
