"""Identify an upload from its bytes with ffprobe."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from media.errors import DamagedAudio, NotAudio
from media.ffmpeg import Deadline, input_args, run
from media.riff import wav_declared_data_bytes

# ffprobe messages that mean "a known container, but cut short" rather than "not audio":
# an MP4/M4A written with its index at the end loses that index when truncated.
_DAMAGED_HINTS = ("moov atom not found", "partial file")


@dataclass(frozen=True)
class Probe:
    """What the container says about its first audio stream."""

    format_name: str
    codec_name: str
    channels: int
    sample_rate: int
    declared_duration_s: float | None


def probe(path: Path, *, deadline: Deadline) -> Probe:
    """Probe a file; raise NotAudio or DamagedAudio when it has no usable audio stream."""
    argv = ["ffprobe", "-v", "error", *input_args(path), "-show_format", "-show_streams",
            "-of", "json"]
    done = run(argv, deadline=deadline)
    if done.returncode != 0:
        if any(hint in done.stderr for hint in _DAMAGED_HINTS):
            raise DamagedAudio(done.stderr.strip())
        raise NotAudio(done.stderr.strip())
    info: dict[str, Any] = json.loads(done.stdout or "{}")
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    if not streams or not streams[0].get("codec_name"):
        raise NotAudio("no decodable audio stream")
    found = _from_json(info.get("format", {}), streams[0])
    header_s = _wav_header_duration_s(path, streams[0]) if found.format_name == "wav" else None
    if header_s is not None and header_s > (found.declared_duration_s or 0.0):
        return replace(found, declared_duration_s=header_s)
    return found


def _wav_header_duration_s(path: Path, stream: dict[str, Any]) -> float | None:
    """Return the duration a WAV header's data size declares, when it can be known."""
    declared = wav_declared_data_bytes(path)
    bit_rate = int(stream.get("bit_rate") or 0)
    return declared * 8 / bit_rate if declared is not None and bit_rate > 0 else None


def _from_json(fmt: dict[str, Any], stream: dict[str, Any]) -> Probe:
    """Build a Probe from ffprobe's format and audio-stream objects."""
    declared = stream.get("duration") or fmt.get("duration")
    return Probe(
        format_name=str(fmt.get("format_name", "")),
        codec_name=str(stream["codec_name"]),
        channels=int(stream.get("channels", 0)),
        sample_rate=int(stream.get("sample_rate", 0)),
        declared_duration_s=float(declared) if declared not in (None, "N/A") else None,
    )
