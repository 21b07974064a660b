"""What agents fetch over HTTP: the server's clock and distribution media."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel

from scheduler.bulletins.router import AUDIO
from scheduler.bulletins.serving import distribution
from scheduler.deps import RuntimeDep, StationDep
from wardcast.protocol import UtcDateTime, utcnow

router = APIRouter(tags=["agents"])


class ServerTime(BaseModel):
    server_time: UtcDateTime


@router.get("/agent/time")
def server_time(_station: StationDep) -> ServerTime:
    """The scheduler's clock, for the agent's offset estimate."""
    return ServerTime(server_time=utcnow())


@router.get("/media/{sha256}", response_class=FileResponse, responses=AUDIO)
def media(sha256: str, request: Request, runtime: RuntimeDep, _station: StationDep) -> Response:
    """A distribution file by its sha256 (Range and ETag supported)."""
    return distribution(store=runtime.store, sha256=sha256, request=request)
