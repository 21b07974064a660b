"""What agents fetch over HTTP: the server's clock and distribution media."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel

from scheduler.bulletins.router import AUDIO, opus_file
from scheduler.bulletins.storage import SHA256_RE
from scheduler.deps import RuntimeDep, StationDep
from scheduler.errors import NotFound
from wardcast.protocol import UtcDateTime, utcnow

router = APIRouter(tags=["agents"])


class ServerTime(BaseModel):
    server_time: UtcDateTime


@router.get("/agent/time")
def server_time(_station: StationDep) -> ServerTime:
    """The scheduler's clock, for the agent's offset estimate."""
    return ServerTime(server_time=utcnow())


@router.get("/media/{sha256}", response_class=FileResponse, responses=AUDIO)
def media(sha256: str, runtime: RuntimeDep, _station: StationDep) -> FileResponse:
    """A distribution file by its sha256 (Range and ETag supported)."""
    if not SHA256_RE.match(sha256) or not runtime.store.dist_path(sha256).exists():
        raise NotFound("Không tìm thấy tệp âm thanh — media not found", field="sha256")
    return opus_file(runtime.store.dist_path(sha256), sha256)
