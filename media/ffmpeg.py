"""Run ffmpeg/ffprobe as bounded subprocesses and read what they print."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media.errors import DecodeTimeout
from media.lifetime import die_with_parent

# Demuxers we accept for uploads, by ffmpeg's format names. Anything else (playlists, images,
# concat lists, text) is refused before it is parsed; phone recorders and browsers produce these.
UPLOAD_FORMATS = (
    "mp3", "mov", "mp4", "m4a", "3gp", "3g2", "mj2", "wav", "w64", "ogg", "flac", "aac",
    "matroska", "webm", "aiff", "amr", "caf", "asf",
)
FFMPEG = ("ffmpeg", "-nostdin", "-hide_banner", "-nostats")
_LEVEL_LINE = re.compile(r"^\[(?:[^\]]*\] )?\[(error|fatal|panic)\] (.*)$")
_OUT_TIME = re.compile(r"^out_time_us=(\d+)$", re.M)


@dataclass(frozen=True)
class Run:
    """What a finished ffmpeg process printed."""

    returncode: int
    stdout: str
    stderr: str


class Deadline:
    """A wall-clock budget shared by the steps of one job."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Return the seconds left, at least a small positive amount."""
        return max(self._end - time.monotonic(), 0.001)


def input_args(path: Path) -> list[str]:
    """Return the argv that opens an upload: local file only, known demuxers only."""
    # "file:" keeps a path like "concat:x" or "-x" from being read as a protocol or option.
    return ["-protocol_whitelist", "file", "-format_whitelist", ",".join(UPLOAD_FORMATS),
            "-i", f"file:{path}"]


def run(argv: list[str], *, deadline: Deadline) -> Run:
    """Run a command to completion, killing it and raising DecodeTimeout past the deadline.

    The command dies with this process too, even one killed by SIGKILL (media.lifetime).
    """
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=deadline.remaining(), check=False,
                              preexec_fn=die_with_parent(signal.SIGKILL))
    except subprocess.TimeoutExpired as exc:  # subprocess.run has already killed the child
        raise DecodeTimeout(f"{argv[0]} ran past its time limit") from exc
    return Run(done.returncode, done.stdout.decode("utf-8", "replace"),
               done.stderr.decode("utf-8", "replace"))


def error_lines(stderr: str) -> list[str]:
    """Return the error-level messages of a run logged with ``-loglevel level+info``."""
    found = (_LEVEL_LINE.match(line) for line in stderr.splitlines())
    return [line.group(0) for line in found if line]


def last_json_object(stderr: str, key: str) -> dict[str, Any] | None:
    """Return the last JSON object in stderr that has the given key (loudnorm's report)."""
    for block in reversed(re.findall(r"\{[^{}]*\}", stderr, re.S)):
        if f'"{key}"' in block:
            # Level-prefixed logs put "[x @ 0x..] [info] " before each line; drop it.
            text = re.sub(r"^\[[^\n]*?\] (?:\[info\] )?", "", block, flags=re.M)
            parsed: dict[str, Any] = json.loads(text)
            return parsed
    return None


def decoded_duration_us(progress: str) -> int | None:
    """Return the end time of the decoded stream from ``-progress`` output."""
    times = _OUT_TIME.findall(progress)
    return int(times[-1]) if times else None
