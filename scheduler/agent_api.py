"""What agents fetch over HTTP: the server's clock and distribution media."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from scheduler.broadcasts import fanout
from scheduler.bulletins.router import AUDIO
from scheduler.bulletins.serving import distribution, not_in_plan
from scheduler.deps import (
    Credentials,
    current_station,
    get_runtime,
)
from scheduler.playbacks import service as playbacks
from wardcast.protocol import API, MEDIA_PATH, TIME_PATH, ServerTime, utcnow

router = APIRouter(tags=["agents"])
RECEIVED = "time_received"  # request.state: when the time request reached the app


class ReceiveStamp:
    """ASGI middleware: stamp a time request as it enters, before anything can queue it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == TIME_PATH:
            scope.setdefault("state", {})[RECEIVED] = time.time()
        await self.app(scope, receive, send)


# async, and no dependency that needs a thread: the wait for one (tens of ms when the pool is
# busy) would fall between the stamps and the wire, where no agent can tell it from the trip.
@router.get(TIME_PATH.removeprefix(API))  # the app mounts every router under API
async def server_time(request: Request, credentials: Credentials) -> ServerTime:
    """The scheduler's clock, NTP-style: when the request came in, when the answer left."""
    received = getattr(request.state, RECEIVED, None) or time.time()
    await run_in_threadpool(_check_station, request, credentials)
    # nothing after this stamp waits: FastAPI serialises an async route's answer and hands
    # it to the socket in this same step of the event loop
    return _answer(received, time.time())


def _check_station(request: Request, credentials: Credentials) -> None:
    """Refuse anything but a station's token, in a session of its own (closed here)."""
    runtime = get_runtime(request)
    with runtime.db.session() as session:
        current_station(session, credentials, runtime)


def _answer(received: float, sent: float) -> ServerTime:
    def at(stamp: float) -> datetime:
        return datetime.fromtimestamp(stamp, UTC)

    return ServerTime(server_time=at((received + sent) / 2), receive_time=at(received),
                      transmit_time=at(sent))


# async, with its checks in one trip to a thread and a session of their own: 10,000 members
# of a broadcast asking at once each held a database connection (as dependencies in threads
# of their own) while waiting for the thread that runs the route, and the pool ran dry.
@router.get(MEDIA_PATH.removeprefix(API), response_class=FileResponse, responses=AUDIO)
async def media(sha256: str, request: Request, credentials: Credentials) -> Response:
    """A distribution file of the station's own plan, or of a broadcast sent to it whose
    playbacks may not be written yet, by its sha256 (Range and ETag)."""
    return await run_in_threadpool(_media, sha256, request, credentials)


def _media(sha256: str, request: Request, credentials: Credentials) -> Response:
    runtime = get_runtime(request)
    with runtime.db.session() as session:
        station = current_station(session, credentials, runtime)
        now = utcnow()
        if not (playbacks.needs_media(session=session, station_id=station.id, sha256=sha256,
                                      now=now)
                or fanout.needs_media(session=session, station_id=station.id,
                                      sha256=sha256, now=now)):
            raise not_in_plan()
    return distribution(store=runtime.store, sha256=sha256, request=request)
