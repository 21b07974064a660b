"""Calendar feed routes: make, list and revoke feeds; and the feed itself, read by its address."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from scheduler.agenda import ical
from scheduler.agenda import service as agenda
from scheduler.deps import SessionDep, UserDep, actor
from scheduler.feeds import service
from scheduler.feeds.models import CalendarFeed
from scheduler.ids import Id, IdPath, IdQuery, Offset
from wardcast.protocol import utcnow

router = APIRouter(prefix="/feeds", tags=["feeds"])


class FeedCreate(BaseModel):
    station_id: Id
    name: str | None = Field(default=None, max_length=120,
                             description="a label for you, e.g. the phone it goes on")


class FeedRead(BaseModel):
    id: int
    station_id: int
    station_name: str
    name: str | None
    owner: str
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, feed: CalendarFeed) -> FeedRead:
        return cls(id=feed.id, station_id=feed.station_id, station_name=feed.station.name,
                   name=feed.name, owner=feed.user.username, created_at=feed.created_at,
                   last_used_at=feed.last_used_at)


class FeedCreated(FeedRead):
    token: str = Field(description="shown only in this answer")
    url: str = Field(description="the address to give a calendar app")


class FeedList(BaseModel):
    items: list[FeedRead]
    total: int


def feed_url(request: Request, token: str) -> str:
    """The address of a feed on this server."""
    return str(request.url_for("feed_calendar", token=token))


@router.post("", status_code=201)
def create(body: FeedCreate, request: Request, session: SessionDep,
           user: UserDep) -> FeedCreated:
    """Make a read-only calendar address for one station; its token is shown only here."""
    feed, token = service.create(session=session, actor=actor(request, user), user=user,
                                 station_id=body.station_id, name=body.name)
    return FeedCreated(**FeedRead.of(feed).model_dump(), token=token,
                       url=feed_url(request, token))


@router.get("")
def listing(session: SessionDep, user: UserDep, station_id: IdQuery = None,
            limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Offset = 0) -> FeedList:
    """Your calendar feeds (an admin's: every feed of the stations of their wards)."""
    rows, total = service.listing(session=session, user=user, station_id=station_id,
                                  limit=limit, offset=offset)
    return FeedList(items=[FeedRead.of(f) for f in rows], total=total)


@router.delete("/{feed_id}", status_code=204)
def revoke(feed_id: IdPath, request: Request, session: SessionDep, user: UserDep) -> Response:
    """Revoke a calendar feed: its address stops working at once."""
    service.revoke(session=session, actor=actor(request, user), user=user, feed_id=feed_id)
    return Response(status_code=204)


@router.get("/{token}/calendar.ics", response_class=Response, name="feed_calendar",
            responses={200: {"content": {"text/calendar": {}}, "description": "iCalendar"}})
def calendar(token: Annotated[str, Path(max_length=200)], session: SessionDep) -> Response:
    """A station's calendar, a week back and a month ahead; the address is the credential."""
    station = service.station_for(session=session, token=token)
    return ical.response(station, agenda.feed_items(session=session, station=station,
                                                    now=utcnow()))
