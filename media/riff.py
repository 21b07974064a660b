"""Read what a WAV header declares, which ffmpeg quietly clamps to the file's real size."""

from __future__ import annotations

import struct
from pathlib import Path

# Sizes that writers put in a header they could not go back and fix (streaming to a pipe).
_UNKNOWN_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFF000}
_MAX_CHUNKS = 64


def wav_declared_data_bytes(path: Path) -> int | None:
    """Return the data size a RIFF/WAVE header declares, or None if unknown or not WAVE."""
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        for _ in range(_MAX_CHUNKS):
            chunk = handle.read(8)
            if len(chunk) < 8:
                return None
            chunk_id, size = struct.unpack("<4sI", chunk)
            if chunk_id == b"data":
                return None if size in _UNKNOWN_SIZES else int(size)
            handle.seek(size + (size & 1), 1)  # chunks are padded to even sizes
    return None
