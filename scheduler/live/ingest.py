"""One transcoder per live session: whatever the source sends, on air at once, and recorded.

    source (browser WebSocket: WebM/Opus chunks; ffmpeg PUT: Ogg/Opus, WAV …)
      └─ a decoder per connection (ffmpeg → PCM s16le 48 kHz mono)
           └─ the session's pump ──→ the pusher (ffmpeg → Opus/Ogg → the streaming server's
                                 │     mount, which the stations' agents listen to)
                                 └─→ the recording (WAV in <data_dir>/live/)

The pusher lives as long as the session: it starts with the session (silence), so the mount
is there when the first agent asks for it, and while no source sends (before the first
connection, between a dropped one and the next) it is fed silence in real time, so the
agents stay connected and hear the speaker again the moment a source comes back. A new
connection replaces the one before (a browser that reconnected before its old socket was
seen to close). Only what a source sent is recorded.

Latency on purpose: no probing beyond the container's headers, 20 ms Opus frames in 20 ms
Ogg pages, PCM written without a queue (a pipe that is full drops the chunk: a stalled
pusher must not build a backlog that would then be played late), and the streaming server
sends new listeners no backlog either (burst 0). The session's timers stop it when its
source has been gone for WARDCAST_LIVE_DROP_S (`source_lost`), when none came within
FIRST_SOURCE_S (`no_source`), and at WARDCAST_LIVE_MAX_S (`max_duration`).

Threads, not the event loop: the routes that receive a source hand each chunk over with
`Feed.write` on a worker thread; the pump, the decoders' readers and the timers are threads
of their own. A session's transcoder lives in the process that started it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from scheduler.live.models import StopReason

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
CHANNELS = 1
SAMPLE_BYTES = 2
BYTES_PER_S = SAMPLE_RATE * CHANNELS * SAMPLE_BYTES
TICK_S = 0.02  # the pump's period, and one Opus frame
PIECE = 3840  # bytes per pipe write: 20 ms, under PIPE_BUF, so a write is whole or refused
JITTER_S = 0.2  # a connected source this far behind real time is filled with silence too
FIRST_SOURCE_S = 60.0  # a session that never gets a source stops after this (or drop_s)
RESTART_S = 1.0  # the pusher, when it died (the streaming server restarted), after this
BITRATE = "48k"


def pusher_command(source_url: str) -> list[str]:
    """ffmpeg: PCM on stdin → Opus (voice, 20 ms frames) in Ogg pages of 20 ms → the mount."""
    # no probing of the PCM (ffmpeg would read a second of it before it connects)
    return ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "error",
            "-probesize", "32", "-analyzeduration", "0", "-fflags", "nobuffer",
            "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", str(CHANNELS), "-i", "pipe:0",
            "-c:a", "libopus", "-b:a", BITRATE, "-application", "voip",
            "-frame_duration", "20", "-page_duration", "20000", "-flush_packets", "1",
            "-content_type", "application/ogg", "-f", "ogg", source_url]


def decoder_command() -> list[str]:
    """ffmpeg: whatever a source sends on stdin → PCM on stdout, probing only the headers."""
    return ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "error",
            "-fflags", "nobuffer", "-probesize", "4096", "-analyzeduration", "0",
            "-i", "pipe:0", "-map", "0:a:0", "-f", "s16le", "-acodec", "pcm_s16le",
            "-ac", str(CHANNELS), "-ar", str(SAMPLE_RATE), "-flush_packets", "1", "pipe:1"]


class FeedClosed(Exception):
    """The connection's decoder is gone; why: STOPPED (the session stopped), REPLACED
    (another source took over) or DECODER_ENDED (what it sent is not audio it can decode)."""

    def __init__(self, why: str, said: str = "") -> None:
        super().__init__(why)
        self.why = why
        self.said = said


STOPPED, REPLACED, DECODER_ENDED = "stopped", "replaced", "decoder_ended"


class Feed:
    """One source connection: its bytes into a decoder, whose PCM goes to the session."""

    def __init__(self, transcoder: Transcoder) -> None:
        self._transcoder = transcoder
        self._process = subprocess.Popen(decoder_command(), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._said = b""
        self.closed = False
        self.why = DECODER_ENDED  # what ended it, once closed
        for target, name in ((self._read, "live-decode"), (self._errors, "live-decode-err")):
            threading.Thread(target=target, name=name, daemon=True).start()

    def write(self, data: bytes) -> None:
        """Give the decoder what the source sent (blocking: call it on a worker thread)."""
        stdin = self._process.stdin
        if self.closed or stdin is None:
            raise FeedClosed(self.why, self.said)
        try:
            stdin.write(data)
            stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise FeedClosed(self.why, self.said) from exc

    @property
    def said(self) -> str:
        """What the decoder said last (its errors)."""
        return self._said.decode(errors="replace").strip()[-300:]

    def finish(self) -> None:
        """The source ended: let the decoder play out what it has, then end."""
        with contextlib.suppress(OSError, ValueError):
            if self._process.stdin is not None:
                self._process.stdin.close()

    def kill(self, why: str) -> None:
        """End it now: REPLACED by a newer connection, or the session STOPPED."""
        self.why, self.closed = why, True
        self.finish()
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)

    def _read(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        odd = b""
        while chunk := stdout.read1(PIECE):  # type: ignore[attr-defined]
            chunk, odd = odd + chunk, b""
            if len(chunk) % SAMPLE_BYTES:
                chunk, odd = chunk[:-1], chunk[-1:]
            if not self.closed:
                self._transcoder.audio(self, chunk)
        self._process.wait()
        self.closed = True
        if self.said:
            log.info("live %d: the source's decoder said: %s", self._transcoder.session_id,
                     self.said)
        self._transcoder.ended(self)

    def _errors(self) -> None:
        stderr = self._process.stderr
        assert stderr is not None
        for line in stderr:
            self._said = (self._said + line)[-2000:]


@dataclass
class Timers:
    """When a session stops by itself (seconds)."""

    drop_s: float
    first_s: float
    max_s: float


class Transcoder:
    """A session's pusher, recording, pump and timers; sources connect through feeds."""

    def __init__(self, *, session_id: int, source_url: str, recording: Path, timers: Timers,
                 on_stop: Callable[[StopReason], None]) -> None:
        self.session_id = session_id
        self._source_url = source_url
        self._recording_path = recording
        self._timers = timers
        self._on_stop = on_stop
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._pusher: subprocess.Popen[bytes] | None = None
        self._pusher_since = 0.0
        self._recording: wave.Wave_write | None = None
        self._recorded = 0  # bytes
        self._feed: Feed | None = None
        # the pusher has been given audio (the source's, or silence) up to this instant
        # (monotonic): a source's burst runs ahead of it, and silence waits until it is due
        self._aired_until = time.monotonic()
        self._drop: threading.Timer | None = None
        self._max: threading.Timer | None = None
        self._pump = threading.Thread(target=self._run, name=f"live-{session_id}", daemon=True)

    @property
    def connected(self) -> bool:
        return self._feed is not None

    @property
    def said_s(self) -> float:
        """Seconds of audio the sources sent (recorded) so far."""
        return self._recorded / BYTES_PER_S

    def start(self) -> None:
        """Open the recording, start the pusher (silence) and the timers."""
        self._recording_path.parent.mkdir(parents=True, exist_ok=True)
        recording = wave.open(str(self._recording_path), "wb")  # noqa: SIM115 (closed by close)
        recording.setnchannels(CHANNELS)
        recording.setsampwidth(SAMPLE_BYTES)
        recording.setframerate(SAMPLE_RATE)
        self._recording = recording
        self._start_pusher()
        self._pump.start()
        with self._lock:
            self._arm_drop(max(self._timers.first_s, self._timers.drop_s), StopReason.NO_SOURCE)
        self._max = self._timer(self._timers.max_s, StopReason.MAX_DURATION)

    def connect(self) -> Feed:
        """A source connected: it replaces the one before, if any."""
        if self._closed.is_set():
            raise FeedClosed(STOPPED)
        feed = Feed(self)
        with self._lock:
            old, self._feed = self._feed, feed
            self._cancel_drop()
        if old is not None:
            log.info("live %d: a new source replaces the one before", self.session_id)
            old.kill(REPLACED)
        log.info("live %d: a source connected", self.session_id)
        return feed

    def audio(self, feed: Feed, pcm: bytes) -> None:
        """PCM from a feed's decoder: on air, and recorded (only the current feed's)."""
        with self._lock:
            if feed is not self._feed or self._closed.is_set():
                return
            self._aired_until = max(self._aired_until, time.monotonic()) + len(pcm) / BYTES_PER_S
            self._send(pcm)
            if self._recording is not None:
                self._recording.writeframes(pcm)
                self._recorded += len(pcm)

    def ended(self, feed: Feed) -> None:
        """A feed's decoder ended: without a new source in time, the session stops."""
        with self._lock:
            if feed is not self._feed:
                return
            self._feed = None
            if not self._closed.is_set():
                log.info("live %d: the source went away; stopping in %g s unless it comes "
                         "back", self.session_id, self._timers.drop_s)
                self._arm_drop(self._timers.drop_s, StopReason.SOURCE_LOST)

    def close(self) -> Path | None:
        """Stop everything; return the recording, or None when nothing was said (removed)."""
        if self._closed.is_set():
            return None
        self._closed.set()
        with self._lock:
            self._cancel_drop()
            feed, self._feed = self._feed, None
        if self._max is not None:
            self._max.cancel()
        if feed is not None:
            feed.kill(STOPPED)
        if self._pump.is_alive() and self._pump is not threading.current_thread():
            self._pump.join(timeout=5)
        with self._lock:
            self._stop_pusher()
            recording, self._recording = self._recording, None
        if recording is not None:
            recording.close()
        if self._recorded == 0:
            self._recording_path.unlink(missing_ok=True)
            return None
        return self._recording_path

    # the pump: silence while no source sends, and a pusher that is running

    def _run(self) -> None:
        next_tick = time.monotonic()
        while not self._closed.wait(max(0.0, next_tick - time.monotonic())):
            next_tick += TICK_S
            with self._lock:
                self._keep_pusher()
                self._fill(time.monotonic())

    def _fill(self, now: float) -> None:
        """Silence up to a tick ahead, once the audio given runs out (a connected source's
        after JITTER_S); never silence owed for the past beyond a tick."""
        if self._aired_until >= now - (JITTER_S if self._feed is not None else 0.0):
            return
        start = max(self._aired_until, now - TICK_S)
        owed = int((now + TICK_S - start) * SAMPLE_RATE) * SAMPLE_BYTES * CHANNELS
        self._send(bytes(owed))
        self._aired_until = start + owed / BYTES_PER_S

    def _send(self, pcm: bytes) -> None:
        """Write PCM to the pusher without waiting: a piece the pipe cannot take is dropped."""
        pusher = self._pusher
        if pusher is None or pusher.stdin is None:
            return
        fd = pusher.stdin.fileno()
        for start in range(0, len(pcm), PIECE):
            try:
                os.write(fd, pcm[start:start + PIECE])
            except BlockingIOError:
                continue  # the pusher is behind: this piece is lost, not delayed
            except OSError:
                return  # it died: _keep_pusher starts another

    def _start_pusher(self) -> None:
        self._pusher = subprocess.Popen(pusher_command(self._source_url), stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert self._pusher.stdin is not None
        os.set_blocking(self._pusher.stdin.fileno(), False)
        self._pusher_since = time.monotonic()
        threading.Thread(target=_log_errors, args=(self._pusher.stderr, self.session_id),
                         name="live-push-err", daemon=True).start()

    def _keep_pusher(self) -> None:
        pusher = self._pusher
        if pusher is None or pusher.poll() is None:
            return
        if time.monotonic() - self._pusher_since < RESTART_S:
            return
        log.warning("live %d: the stream to the streaming server ended (ffmpeg exit %s); "
                    "connecting again", self.session_id, pusher.returncode)
        self._stop_pusher()
        self._start_pusher()

    def _stop_pusher(self) -> None:
        pusher, self._pusher = self._pusher, None
        if pusher is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if pusher.stdin is not None:
                pusher.stdin.close()
        try:
            pusher.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pusher.kill()
            pusher.wait(timeout=5)

    # the timers

    def _timer(self, seconds: float, reason: StopReason) -> threading.Timer:
        timer = threading.Timer(seconds, self._expired, args=(reason,))
        timer.daemon = True
        timer.start()
        return timer

    def _arm_drop(self, seconds: float, reason: StopReason) -> None:
        self._cancel_drop()
        self._drop = self._timer(seconds, reason)

    def _cancel_drop(self) -> None:
        if self._drop is not None:
            self._drop.cancel()
            self._drop = None

    def _expired(self, reason: StopReason) -> None:
        if self._closed.is_set():
            return
        log.warning("live %d stops by itself: %s", self.session_id, reason.value)
        try:
            self._on_stop(reason)
        except Exception:  # a timer thread has no one to raise to
            log.exception("live %d: stopping it (%s) failed", self.session_id, reason.value)


def _log_errors(stream: IO[bytes] | None, session_id: int) -> None:
    if stream is None:
        return
    for line in stream:
        log.warning("live %d: ffmpeg (to the streaming server): %s", session_id,
                    line.decode(errors="replace").rstrip())


class Ingests:
    """The transcoders of this process's live sessions, by session id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, Transcoder] = {}

    def open(self, transcoder: Transcoder) -> Transcoder:
        """Start a session's transcoder and keep it."""
        transcoder.start()
        with self._lock:
            self._running[transcoder.session_id] = transcoder
        return transcoder

    def get(self, session_id: int) -> Transcoder | None:
        with self._lock:
            return self._running.get(session_id)

    def close(self, session_id: int) -> Path | None:
        """Stop a session's transcoder (if this process runs it); return its recording."""
        with self._lock:
            transcoder = self._running.pop(session_id, None)
        return transcoder.close() if transcoder is not None else None

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._running)
