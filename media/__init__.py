"""Audio for wardcast: validate uploads by decoding, normalise loudness, encode, checksum."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from media.checksum import sha256_file
    from media.decode import SAMPLE_RATE, decode_command
    from media.errors import (
        AudioTooLong,
        DamagedAudio,
        DecodeTimeout,
        EmptyFile,
        MediaError,
        NotAudio,
        SilentAudio,
    )
    from media.loudness import Loudness, measure_loudness
    from media.process import ProcessedAudio, process_upload

# Each name is imported on first use: the agent imports media.decode and media.checksum
# alone, and must not load the upload pipeline with them (libc through ctypes included).
_HOMES = {
    "sha256_file": "media.checksum",
    "SAMPLE_RATE": "media.decode",
    "decode_command": "media.decode",
    **dict.fromkeys(["AudioTooLong", "DamagedAudio", "DecodeTimeout", "EmptyFile",
                     "MediaError", "NotAudio", "SilentAudio"], "media.errors"),
    "Loudness": "media.loudness",
    "measure_loudness": "media.loudness",
    "ProcessedAudio": "media.process",
    "process_upload": "media.process",
}

__all__ = [
    "SAMPLE_RATE",
    "AudioTooLong",
    "DamagedAudio",
    "DecodeTimeout",
    "EmptyFile",
    "Loudness",
    "MediaError",
    "NotAudio",
    "ProcessedAudio",
    "SilentAudio",
    "decode_command",
    "measure_loudness",
    "process_upload",
    "sha256_file",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module when it is first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'media' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
