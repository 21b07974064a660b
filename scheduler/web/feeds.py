"""Pages: a station's calendar addresses (calendar feeds) — make one, see them, revoke one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from scheduler.deps import SessionDep, actor
from scheduler.feeds import service as feeds
from scheduler.feeds.models import CalendarFeed
from scheduler.feeds.router import feed_url
from scheduler.ids import IdPath
from scheduler.stations import service as stations
from scheduler.users.models import User
from scheduler.web.i18n import N_
from scheduler.web.session import PageUser
from scheduler.web.templating import flash, redirect, render

router = APIRouter()
MAX_SHOWN = 500


def _page(request: Request, session: SessionDep, user: User, station_id: int, *,
          created: CalendarFeed | None = None, url: str | None = None) -> HTMLResponse:
    station = stations.get(session=session, station_id=station_id, user=user)
    rows, _ = feeds.listing(session=session, user=user, station_id=station.id, limit=MAX_SHOWN,
                            offset=0)
    return render(request, "stations/feeds.html", station=station, feeds=rows,
                  created=created, url=url)


@router.get("/stations/{station_id}/feeds", response_class=HTMLResponse)
def feeds_page(station_id: IdPath, request: Request, session: SessionDep,
               user: PageUser) -> HTMLResponse:
    """The station's calendar addresses that this user manages."""
    return _page(request, session, user, station_id)


@router.post("/stations/{station_id}/feeds", response_class=HTMLResponse)
def create(station_id: IdPath, request: Request, session: SessionDep, user: PageUser,
           name: Annotated[str, Form(max_length=120)] = "") -> Response:
    """Make a calendar address and show it this once (only its hash is kept)."""
    feed, token = feeds.create(session=session, actor=actor(request, user), user=user,
                               station_id=station_id, name=name)
    answer = _page(request, session, user, station_id, created=feed,
                   url=feed_url(request, token))
    answer.headers["Cache-Control"] = "no-store"  # the address must not linger in a cache
    return answer


@router.post("/stations/{station_id}/feeds/{feed_id}/revoke")
def revoke(station_id: IdPath, feed_id: IdPath, request: Request, session: SessionDep,
           user: PageUser) -> Response:
    """Revoke a calendar address; calendar apps using it stop at once."""
    feeds.revoke(session=session, actor=actor(request, user), user=user, feed_id=feed_id)
    answer = redirect(f"/stations/{station_id}/feeds")
    flash(answer, N_("Calendar address revoked."))
    return answer
