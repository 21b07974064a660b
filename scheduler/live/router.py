"""Live session routes: start and stop (approvers and admins), read (everyone), and the two
ways a source sends its audio: an HTTP PUT with the session's key (ffmpeg, a phone bridge)
and a WebSocket from the page (the login cookie).

The source routes hold their connection for as long as the speaker speaks: they are async,
open no database session while they stream (each check is a short one of its own, on the
thread pool), and hand each chunk to the session's transcoder on a worker thread.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from scheduler.audit.service import Actor
from scheduler.context import AppContext
from scheduler.deps import (
    SESSION_COOKIE,
    ApproverDep,
    Credentials,
    RuntimeDep,
    SessionDep,
    UserDep,
    actor,
    current_user,
    get_runtime,
)
from scheduler.errors import Conflict, DomainError, NotAuthenticated, UnsupportedMedia
from scheduler.ids import IdPath, Offset
from scheduler.live import control, service
from scheduler.live.ingest import DECODER_ENDED, REPLACED, STOPPED, Feed, FeedClosed
from scheduler.live.models import StopReason
from scheduler.live.schemas import LiveCreate, LiveList, LiveRead, LiveStarted
from scheduler.users import service as users
from scheduler.users.models import User
from wardcast.protocol import API

router = APIRouter(prefix="/live", tags=["live"])
KeyQuery = Annotated[str, Query(min_length=1, max_length=200,
                                description="the session's ingest key")]
# WebSocket close codes (4000-4999: the application's own)
WS_REFUSED, WS_STOPPED, WS_REPLACED, WS_NOT_AUDIO = 4403, 4409, 4410, 4415
WS_CODES = {STOPPED: WS_STOPPED, REPLACED: WS_REPLACED, DECODER_ENDED: WS_NOT_AUDIO}


@router.post("", status_code=201)
def start(body: LiveCreate, request: Request, session: SessionDep, runtime: RuntimeDep,
          user: ApproverDep) -> LiveStarted:
    """Start speaking live to stations and groups: an emergency (the default) interrupts
    what they play. 503 `live_unavailable` when the streaming server is not running."""
    started = control.start(runtime=runtime, session=session, data=body, by=user,
                            actor=actor(request, user))
    live = started.live
    base = runtime.settings.public_url or str(request.base_url).rstrip("/")
    path = f"{API}/live/{live.id}"
    read = control.read(session, runtime, live)
    return LiveStarted(**read.model_dump(), ingest_url=f"{base}{path}/ingest?key={started.key}",
                       ws_path=f"{path}/ws", stop_url=f"{base}{path}/stop?key={started.key}")


@router.get("")
def listing(session: SessionDep, runtime: RuntimeDep, _user: UserDep,
            live_only: Annotated[bool, Query(description="only sessions still live")] = False,
            limit: Annotated[int, Query(ge=1, le=500)] = 50,
            offset: Offset = 0) -> LiveList:
    """Live sessions, newest first."""
    rows, total = service.listing(session=session, limit=limit, offset=offset,
                                  live_only=live_only)
    return LiveList(items=[control.read(session, runtime, live) for live in rows], total=total)


@router.get("/{live_id}")
def read(live_id: IdPath, session: SessionDep, runtime: RuntimeDep, _user: UserDep) -> LiveRead:
    """One session: live or stopped (and why), its source, what became of its recording."""
    return control.read(session, runtime, service.get(session=session, live_id=live_id))


@router.post("/{live_id}/stop")
def stop(live_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
         credentials: Credentials,
         key: Annotated[str | None, Query(max_length=200, description=(
             "the ingest key, for a source without a login"))] = None) -> LiveRead:
    """Stop a session (who started it, approvers, admins; or its ingest key): its stations
    stop at once, and what was said becomes a pending bulletin. Stopping it again is
    harmless."""
    by: User | None
    if key is not None:
        service.with_key(session=session, live_id=live_id, key=key)
        host = request.client.host if request.client else None
        by, who = None, Actor(user_id=None, username=control.KEY_ACTOR, remote_addr=host)
    else:
        by = current_user(request, session, credentials)
        who = actor(request, by)
        service.check_may_stop(session=session, live=service.get(session=session,
                                                                  live_id=live_id), user=by)
    live = control.stop(runtime=runtime, session=session, live_id=live_id, by=by, actor=who,
                        reason=StopReason.STOPPED)
    return control.read(session, runtime, live)


@router.put("/{live_id}/ingest", status_code=204)
async def ingest(live_id: IdPath, key: KeyQuery, request: Request) -> Response:
    """Send a session's audio as one long HTTP PUT (chunked): Ogg/Opus with short pages is
    best (`ffmpeg -re -i voice.wav -c:a libopus -page_duration 20000 -f ogg -method PUT
    <ingest_url>`); WebM, WAV, MP3 … are decoded too. A new PUT replaces the one before."""
    runtime = get_runtime(request)
    feed = await run_in_threadpool(_connect, runtime, live_id, key, None)
    try:
        async for chunk in request.stream():
            if chunk:
                await to_thread.run_sync(feed.write, chunk)
    except FeedClosed as exc:
        raise _closed(exc) from None
    finally:
        feed.finish()
    return Response(status_code=204)


@router.websocket("/{live_id}/ws")
async def ws(websocket: WebSocket, live_id: int) -> None:
    """The page's microphone: binary MediaRecorder chunks (audio/webm;codecs=opus) sent as
    they come (100-250 ms). Logged in by the login cookie (or a Bearer header), from the
    page's own origin; or with ?key=. Closed 4403 when refused, 4409 once the session
    stopped, 4410 when another source took over, 4415 when what it sent is not audio."""
    runtime: AppContext = websocket.app.state.runtime
    try:
        feed = await run_in_threadpool(_connect, runtime, live_id,
                                       websocket.query_params.get("key"), _login(websocket))
    except DomainError as exc:
        await websocket.close(code=WS_STOPPED if exc.code == service.LiveStopped.code
                              else WS_REFUSED, reason=exc.code)
        return
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes"):
                await to_thread.run_sync(feed.write, message["bytes"])
    except WebSocketDisconnect:
        return
    except FeedClosed as exc:
        error = _closed(exc)
        await websocket.close(code=WS_CODES.get(exc.why, WS_REFUSED), reason=error.code)
    finally:
        feed.finish()


def _closed(exc: FeedClosed) -> DomainError:
    """Why a source's connection was closed, as the API says it."""
    if exc.why == STOPPED:
        return service.LiveStopped("Phiên phát trực tiếp đã dừng — the live session has "
                                   "stopped")
    if exc.why == REPLACED:
        return Conflict("Một nguồn mới đã thay nguồn này — another source took over the "
                        "live session", code="live_source_replaced")
    return UnsupportedMedia(f"Không giải mã được âm thanh gửi lên: {exc.said} — the audio "
                            f"sent could not be decoded: {exc.said}", code="not_audio")


def _login(websocket: WebSocket) -> str | None:
    """The user token a WebSocket comes with: the page's login cookie (only from the page's
    own origin: a socket has no CSRF protection of its own) or a Bearer header."""
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    cookie = websocket.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    origin = websocket.headers.get("origin") or ""
    if urlsplit(origin).netloc != websocket.headers.get("host"):
        raise NotAuthenticated("Kết nối không đến từ trang của wardcast — cross-site "
                               "WebSocket refused (Origin does not match)")
    return cookie


def _connect(runtime: AppContext, live_id: int, key: str | None, token: str | None) -> Feed:
    """Check a source (its key, or its user's right to stop the session) in a session of its
    own, closed before the audio flows; connect it to the session's transcoder."""
    with runtime.db.session() as session:
        if key is not None:
            live = service.with_key(session=session, live_id=live_id, key=key)
        else:
            user = users.user_for_token(session=session, token=token) if token else None
            if user is None:
                raise NotAuthenticated("Cần đăng nhập — missing or invalid login")
            live = service.get(session=session, live_id=live_id)
            service.check_may_stop(session=session, live=live, user=user)
        service.check_open(live)
    transcoder = runtime.ingests.get(live_id)
    if transcoder is None:
        raise service.LiveStopped(f"Phiên phát trực tiếp {live_id} không chạy trên máy chủ này "
                                  "— the live session is not running on this server",
                                  field="live_id")
    return transcoder.connect()
