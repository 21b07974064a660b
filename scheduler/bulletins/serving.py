"""Serve a distribution file from disk or from the bucket, with Range and its sha256 as ETag."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import Request, Response
from fastapi.responses import FileResponse, StreamingResponse

from scheduler.bulletins.s3 import MediaMissing, MediaStoreDown, RangeNotSatisfiable
from scheduler.bulletins.storage import DIST_TYPE, SHA256_RE, MediaStore, MediaStoreUnavailable
from scheduler.errors import NotFound

# One range: what agents send to resume (bytes=N-) and what players ask for. Several ranges
# at once get the whole file, which HTTP allows.
SINGLE_RANGE = re.compile(r"^bytes=(\d+-\d*|-\d+)$")


def _missing() -> NotFound:
    return NotFound("Không tìm thấy tệp âm thanh — media not found", field="sha256")


def not_in_plan() -> NotFound:
    """What a station hears for audio that is not in its plan (as if there were none)."""
    return NotFound("Không có tệp âm thanh này trong kế hoạch phát của trạm — no media with "
                    "this sha256 in the station's plan", field="sha256")


def opus_file(path: Path, sha256: str) -> FileResponse:
    """Serve a distribution file on disk with its sha256 as the ETag."""
    return FileResponse(path, media_type=DIST_TYPE, headers={"ETag": f'"{sha256}"',
                                                             "Cache-Control": "private"})


def distribution(*, store: MediaStore, sha256: str, request: Request) -> Response:
    """The distribution file named by sha256, wherever the store keeps it."""
    if not SHA256_RE.match(sha256):
        raise _missing()
    if store.remote is None:
        path = store.dist_path(sha256)
        if not path.exists():
            raise _missing()
        return opus_file(path, sha256)
    return _from_bucket(store, sha256, request)


def _from_bucket(store: MediaStore, sha256: str, request: Request) -> Response:
    """Stream the object through this replica (agents need to reach the API only)."""
    assert store.remote is not None
    etag = f'"{sha256}"'
    headers = {"ETag": etag, "Cache-Control": "private", "Accept-Ranges": "bytes"}
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if wanted and (not SINGLE_RANGE.match(wanted) or (if_range and if_range != etag)):
        wanted = None
    try:
        found = store.remote.get(store.dist_key(sha256), byte_range=wanted)
    except MediaMissing as exc:
        raise _missing() from exc
    except RangeNotSatisfiable as exc:
        return Response(status_code=416, headers={**headers,
                                                  "Content-Range": f"bytes */{exc.size}"})
    except MediaStoreDown as exc:
        raise MediaStoreUnavailable("Kho âm thanh không phản hồi, vui lòng thử lại — "
                                    "the media store is unavailable") from exc
    headers["Content-Length"] = str(found.length)
    if found.content_range:
        headers["Content-Range"] = found.content_range
    return StreamingResponse(found.chunks(), status_code=206 if found.content_range else 200,
                             media_type=DIST_TYPE, headers=headers)
