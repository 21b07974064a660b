"""ffmpeg decoding and checksums, the agent's small share of what media/ does in full."""

from __future__ import annotations

import hashlib
from pathlib import Path

SAMPLE_RATE = 48_000
CHANNELS = 1
SAMPLE_BYTES = 2  # signed 16-bit little-endian


def decode_command(path: Path, *, sample_rate: int = SAMPLE_RATE, channels: int = CHANNELS
                   ) -> list[str]:
    """Return the ffmpeg argv that writes a file's first audio stream as raw s16le PCM."""
    # The same argv as media.decode_command; importing media would pull in pydub and more.
    return ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "error",
            "-i", f"file:{path}", "-map", "0:a:0", "-f", "s16le", "-acodec", "pcm_s16le",
            "-ac", str(channels), "-ar", str(sample_rate), "-"]


def tone_command(*, hz: float, seconds: float, sample_rate: int = SAMPLE_RATE) -> list[str]:
    """Return the ffmpeg argv that writes a sine of hz for seconds as raw s16le PCM."""
    # ffmpeg's sine source is 1/8 of full scale (-18 dBFS): audible, not startling.
    source = f"sine=frequency={hz:g}:sample_rate={sample_rate}:duration={seconds:g}"
    return ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "error",
            "-f", "lavfi", "-i", source, "-f", "s16le", "-acodec", "pcm_s16le",
            "-ac", str(CHANNELS), "-ar", str(sample_rate), "-"]


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 16):
            digest.update(block)
    return digest.hexdigest()
