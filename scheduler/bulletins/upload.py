"""Receive an uploaded file into scratch space, refusing it once it exceeds the limit."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import BinaryIO

from scheduler.errors import InvalidInput
from scheduler.limits import too_large

CHUNK = 1 << 20


def receive(source: BinaryIO, *, folder: Path, limit: int) -> Path:
    """Copy an upload into a fresh scratch file; nothing is left behind on failure."""
    target = folder / f"{uuid.uuid4().hex}.upload"
    size = 0
    try:
        with target.open("wb") as out:
            for chunk in iter(lambda: source.read(CHUNK), b""):
                size += len(chunk)
                if size > limit:
                    raise too_large(limit, upload=True)
                out.write(chunk)
        if size == 0:
            raise InvalidInput("Tệp tải lên trống — the uploaded file is empty", field="file",
                               code="empty_file")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target
