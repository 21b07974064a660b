"""Play one media file: stream ffmpeg's PCM into a sink, each chunk at its own instant.

Chunk k is written when the monotonic clock reaches start + k × 20 ms, computed from the
start every time, so lateness never accumulates. Memory stays bounded: the decoder blocks on
its pipe until we read the next chunk. Every second of audio written, ``on_progress`` gets
the position, for the player to save.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agents.clock import sleep_until
from agents.decode import SAMPLE_BYTES, SAMPLE_RATE, decode_command
from agents.outputs import Backend, Sink, playback_name
from wardcast.protocol import utcnow

CHUNK_SAMPLES = SAMPLE_RATE // 50  # 20 ms
CHUNK_BYTES = CHUNK_SAMPLES * SAMPLE_BYTES
PROGRESS_SAMPLES = SAMPLE_RATE  # report the position every second of audio
STDERR_TAIL = 4096


class PlaybackError(RuntimeError):
    """Decoding or output failed; the message is the reason reported."""


@dataclass
class Progress:
    """How far a playback got; readable while it runs and after it is cancelled."""

    samples: int = 0
    started_at: datetime | None = None

    @property
    def position_ms(self) -> int:
        return self.samples * 1000 // SAMPLE_RATE


class Playback:
    """One decoder's PCM played into one sink; prepared ahead, then run at its instant.

    ``prepare`` starts the decoder and waits for its first samples, so that a start (or a
    preemption) only has to open the sink and write. ``close`` may be called more than once.
    """

    def __init__(self, command: list[str], *, backend: Backend, name: str,
                 progress: Progress | None = None) -> None:
        self._command = command
        self._backend = backend
        self._name = name
        self.progress = progress or Progress()
        self._decoder: asyncio.subprocess.Process | None = None
        self._errors: asyncio.Task[bytes] | None = None
        self._first = b""
        self._sink: Sink | None = None

    async def prepare(self, *, open_sink: bool = True) -> None:
        """Start the decoder and read its first chunk; open the sink too unless told not to."""
        self._decoder = await asyncio.create_subprocess_exec(
            *self._command, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        self._errors = asyncio.create_task(_tail(self._decoder))
        self._first = await _read_chunk(self._decoder)
        if not self._first:
            raise PlaybackError(await _decode_error(self._decoder, self._errors))
        if open_sink:
            await self._open_sink()

    async def run(self, at: datetime, *, on_started: Callable[[datetime], None],
                  on_progress: Callable[[int], None] = lambda position_ms: None) -> None:
        """Play from instant at (or now, when that has passed) to the end."""
        decoder, errors = self._decoder, self._errors
        assert decoder is not None and errors is not None, "prepare() first"
        try:
            sink = self._sink or await self._open_sink()
            await sleep_until(at)
            await _stream(decoder, sink, self._first, self.progress, on_started, on_progress)
            if await decoder.wait() != 0:
                raise PlaybackError(await _decode_error(decoder, errors))
        except OSError as exc:
            raise PlaybackError(f"output_error: {exc}") from exc

    async def close(self) -> None:
        """Close the sink and end the decoder (what was written stays written)."""
        sink, self._sink = self._sink, None
        if sink is not None:
            await sink.close()
        if self._decoder is not None and self._errors is not None:
            await _stop(self._decoder, self._errors)

    async def _open_sink(self) -> Sink:
        try:
            self._sink = await self._backend.open(self._name)
        except OSError as exc:
            raise PlaybackError(f"output_error: {exc}") from exc
        return self._sink


async def play(path: Path, *, backend: Backend, playback_id: int, at: datetime,
               progress: Progress, on_started: Callable[[datetime], None],
               on_progress: Callable[[int], None] = lambda position_ms: None) -> None:
    """Decode path and play it from instant at (or now, when that has passed)."""
    playback = Playback(decode_command(path), backend=backend,
                        name=playback_name(playback_id), progress=progress)
    try:
        await playback.prepare()
        await playback.run(at, on_started=on_started, on_progress=on_progress)
    finally:
        await playback.close()


async def _stream(decoder: asyncio.subprocess.Process, sink: Sink, first: bytes,
                  progress: Progress, on_started: Callable[[datetime], None],
                  on_progress: Callable[[int], None]) -> None:
    """Write chunks paced by the monotonic clock from the first sample's instant."""
    origin = time.monotonic()
    started = utcnow()
    sink.start(started)
    chunk = first
    next_report = PROGRESS_SAMPLES
    while chunk:
        delay = origin + progress.samples / SAMPLE_RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await sink.write(chunk)
        if progress.started_at is None:
            progress.started_at = started
            on_started(started)
        progress.samples += len(chunk) // SAMPLE_BYTES
        if progress.samples >= next_report:
            on_progress(progress.position_ms)
            next_report += PROGRESS_SAMPLES
        chunk = await _read_chunk(decoder)


async def _read_chunk(decoder: asyncio.subprocess.Process) -> bytes:
    """Read the next 20 ms of PCM, less at the end, nothing at end of stream."""
    assert decoder.stdout is not None
    try:
        return await decoder.stdout.readexactly(CHUNK_BYTES)
    except asyncio.IncompleteReadError as exc:
        return exc.partial[: len(exc.partial) - len(exc.partial) % SAMPLE_BYTES]


async def _tail(decoder: asyncio.subprocess.Process) -> bytes:
    """Keep the end of ffmpeg's stderr, reading it all so ffmpeg never blocks on it."""
    assert decoder.stderr is not None
    kept = b""
    while block := await decoder.stderr.read(STDERR_TAIL):
        kept = (kept + block)[-STDERR_TAIL:]
    return kept


async def _decode_error(decoder: asyncio.subprocess.Process, errors: asyncio.Task[bytes]
                        ) -> str:
    """Describe why the decoder produced no (more) audio."""
    code = await decoder.wait()
    lines = (await errors).decode(errors="replace").strip().splitlines()
    detail = lines[-1] if lines else "no output"
    return f"decode_error: ffmpeg exit {code}: {detail}"[:500]


async def _stop(decoder: asyncio.subprocess.Process, errors: asyncio.Task[bytes]) -> None:
    """End the decoder and read its pipes to the end so they close."""
    if decoder.returncode is None:
        decoder.kill()
    assert decoder.stdout is not None
    while await decoder.stdout.read(1 << 16):
        pass
    await decoder.wait()
    await errors
