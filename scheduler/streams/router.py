"""Stream routes: everyone reads; admins and editors add, change, check and delete.

Adding, changing the address and checking probe the stream (several seconds): the routes are
plain functions, run on the thread pool, never on the event loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from scheduler.deps import EditorDep, RuntimeDep, SessionDep, UserDep, actor
from scheduler.ids import IdPath, Offset
from scheduler.streams import probe, service
from scheduler.streams.schemas import StreamCreate, StreamList, StreamRead, StreamUpdate

router = APIRouter(prefix="/streams", tags=["streams"])


def prober(runtime: RuntimeDep) -> service.Prober:
    """The probe with this scheduler's listening time."""
    return probe.prober(listen_s=runtime.settings.stream_listen_s)


@router.post("", status_code=201)
def create(body: StreamCreate, request: Request, session: SessionDep, runtime: RuntimeDep,
           user: EditorDep) -> StreamRead:
    """Add a stream; it is probed first (422 `stream_unreachable` unless allow_unreachable)."""
    stream = service.create(session=session, data=body, by=user, actor=actor(request, user),
                            prober=prober(runtime))
    return StreamRead.of(stream)


@router.get("")
def listing(session: SessionDep, _user: UserDep,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Offset = 0) -> StreamList:
    """Every stream by name, with what its last check found."""
    rows, total = service.listing(session=session, limit=limit, offset=offset)
    return StreamList(items=[StreamRead.of(s) for s in rows], total=total)


@router.get("/{stream_id}")
def read(stream_id: IdPath, session: SessionDep, _user: UserDep) -> StreamRead:
    """One stream."""
    return StreamRead.of(service.get(session=session, stream_id=stream_id))


@router.patch("/{stream_id}")
def update(stream_id: IdPath, body: StreamUpdate, request: Request, session: SessionDep,
           runtime: RuntimeDep, user: EditorDep) -> StreamRead:
    """Change a stream; a new address or login is probed before it is kept."""
    stream = service.update(session=session, stream_id=stream_id, change=body, by=user,
                            actor=actor(request, user), prober=prober(runtime))
    return StreamRead.of(stream)


@router.post("/{stream_id}/check")
def check(stream_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
          user: EditorDep) -> StreamRead:
    """Probe a stream now."""
    stream = service.check(session=session, stream_id=stream_id, actor=actor(request, user),
                           prober=prober(runtime))
    return StreamRead.of(stream)


@router.delete("/{stream_id}", status_code=204)
def delete(stream_id: IdPath, request: Request, session: SessionDep,
           user: EditorDep) -> Response:
    """Delete a stream."""
    service.delete(session=session, stream_id=stream_id, by=user, actor=actor(request, user))
    return Response(status_code=204)
