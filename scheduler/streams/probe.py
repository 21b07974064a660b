"""Probe a stream: ffprobe says what it carries, a few decoded seconds say whether it sounds.

Blocking (two subprocesses, several seconds): routes call it from the thread pool, the watch
job from its own workers.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from media.errors import DecodeTimeout
from media.ffmpeg import FFMPEG, UPLOAD_FORMATS, Deadline, Run, run
from scheduler.streams.models import StreamState
from scheduler.streams.urls import Source

log = logging.getLogger(__name__)

# what a stream, or the segments an HLS playlist lists, may be read over: never file:, pipe:
PROTOCOLS = "http,https,tcp,tls,crypto"
FORMATS = ",".join((*UPLOAD_FORMATS, "hls", "mpegts"))
RW_TIMEOUT_S = 5  # a server that accepts and then says nothing for this long is unreachable
PROBE_TIMEOUT_S = 15.0
LISTEN_S = 4.0
SILENT_DB = -50.0  # a stream whose loudest sample in LISTEN_S is under this is silent
_MAX_VOLUME = re.compile(r"max_volume: (-?[\d.]+|-inf) dB")
_SAMPLES = re.compile(r"n_samples: (\d+)")

# what ffmpeg says → why, in Vietnamese and English (the first that matches)
REASONS = (
    ("Server returned 401", "máy chủ đòi tên đăng nhập và mật khẩu, hoặc chúng không đúng",
     "the server asks for a user name and password, or they are wrong"),
    ("Server returned 403", "máy chủ không cho nghe luồng này",
     "the server refuses access to this stream"),
    ("Server returned 404", "không có luồng ở địa chỉ này (404)",
     "there is no stream at this address (404)"),
    ("Server returned 5", "máy chủ đang gặp lỗi", "the server reports an error"),
    ("Connection refused", "máy chủ từ chối kết nối", "the server refused the connection"),
    ("resolve hostname", "không tìm thấy máy chủ theo tên", "the server's name is not found"),
    ("timed out", "máy chủ không trả lời kịp", "the server did not answer in time"),
    ("not on whitelist", "luồng đòi mở một giao thức không được phép",
     "the stream asks for a protocol that is not allowed"),
)
TIMEOUT = ("máy chủ không trả lời kịp", "the server did not answer in time")
NOT_AUDIO = ("địa chỉ này không phát âm thanh", "the address does not carry audio")
NO_SOUND = ("luồng không gửi dữ liệu âm thanh", "the stream sent no audio")
UNKNOWN = ("không mở được luồng", "the stream could not be opened")


@dataclass(frozen=True)
class Finding:
    """What one probe found; `error` ("vi — en") says why a stream is unreachable."""

    state: StreamState
    codec: str | None = None
    bitrate_kbps: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    max_volume_db: float | None = None
    error: str | None = None


class Unreachable(Exception):
    """The stream could not be read; carries the reason in both languages."""

    def __init__(self, reason: tuple[str, str]) -> None:
        super().__init__(f"{reason[0]} — {reason[1]}")


def prober(*, listen_s: float) -> Callable[[Source], Finding]:
    """The probe with a listening time (the settings' WARDCAST_STREAM_LISTEN_S)."""
    return partial(probe, listen_s=listen_s)


def probe(source: Source, *, listen_s: float = LISTEN_S) -> Finding:
    """Probe a stream; never raises for what the network or the server does."""
    try:
        found = _identify(source)
        volume = _listen(source, listen_s)
    except Unreachable as exc:
        return Finding(state=StreamState.UNREACHABLE, error=str(exc))
    state = StreamState.SILENT if volume < SILENT_DB else StreamState.OK
    return Finding(state=state, max_volume_db=volume, **found)


def _input(source: Source) -> list[str]:
    return ["-rw_timeout", str(RW_TIMEOUT_S * 1_000_000), "-protocol_whitelist", PROTOCOLS,
            "-format_whitelist", FORMATS, "-i", source.address()]


def _run(argv: list[str], source: Source, seconds: float) -> Run:
    try:
        return run(argv, deadline=Deadline(seconds))
    except DecodeTimeout as exc:
        raise Unreachable(TIMEOUT) from exc


def _identify(source: Source) -> dict[str, Any]:
    """Codec, bitrate, sample rate and channels of the stream's first audio track."""
    done = _run(["ffprobe", "-v", "error", *_input(source), "-show_streams", "-show_format",
                 "-of", "json"], source, PROBE_TIMEOUT_S)
    if done.returncode != 0:
        raise Unreachable(_reason(done.stderr, source))
    try:
        info: dict[str, Any] = json.loads(done.stdout or "{}")
    except ValueError as exc:
        raise Unreachable(NOT_AUDIO) from exc
    audio = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    if not audio:
        raise Unreachable(NOT_AUDIO)
    stream, fmt = audio[0], info.get("format", {})
    # a live HLS playlist's figure is its variant's or none at all (under 1 kbit/s: not known)
    rates = (_number(stream.get("bit_rate")),
             _number(stream.get("tags", {}).get("variant_bitrate")), _number(fmt.get("bit_rate")))
    bit_rate = next((rate for rate in rates if rate and rate >= 1000), None)
    return {"codec": str(stream.get("codec_name") or "")[:32] or None,
            "bitrate_kbps": round(bit_rate / 1000) if bit_rate else None,
            "sample_rate": _number(stream.get("sample_rate")),
            "channels": _number(stream.get("channels"))}


def _listen(source: Source, seconds: float) -> float:
    """The loudest level (dBFS) of the stream's next few seconds."""
    done = _run([*FFMPEG, "-v", "info", *_input(source), "-t", f"{seconds:g}", "-vn",
                 "-af", "volumedetect", "-f", "null", "-"], source,
                seconds + PROBE_TIMEOUT_S)
    samples = _SAMPLES.search(done.stderr)
    peak = _MAX_VOLUME.search(done.stderr)
    if samples is None or peak is None or int(samples.group(1)) == 0:
        raise Unreachable(_reason(done.stderr, source) if done.returncode else NO_SOUND)
    return float("-inf") if peak.group(1) == "-inf" else float(peak.group(1))


def _reason(stderr: str, source: Source) -> tuple[str, str]:
    """Why ffmpeg could not read the stream, in words; its message goes to the log."""
    said = source.redact(stderr.strip())[-500:]
    log.debug("stream %s could not be read: %s", source.url, said)  # the watch says changes
    return next(((vi, en) for hint, vi, en in REASONS if hint in said), UNKNOWN)


def _number(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "", "N/A") else None
    except ValueError:
        return None
