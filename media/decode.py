"""The ffmpeg command that plays a file: raw PCM on stdout."""

from __future__ import annotations

from pathlib import Path

SAMPLE_RATE = 48_000


def decode_command(path: Path, *, sample_rate: int = SAMPLE_RATE, channels: int = 1) -> list[str]:
    """Return the ffmpeg argv that writes a file's first audio stream as s16le PCM to stdout."""
    return ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "error",
            "-i", f"file:{path}", "-map", "0:a:0", "-f", "s16le", "-acodec", "pcm_s16le",
            "-ac", str(channels), "-ar", str(sample_rate), "-"]
