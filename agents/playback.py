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
from agents.outputs import Backend, Sink
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


async def play(path: Path, *, backend: Backend, playback_id: int, at: datetime,
               progress: Progress, on_started: Callable[[datetime], None],
               on_progress: Callable[[int], None] = lambda position_ms: None) -> None:
    """Decode path and play it from instant at (or now, when that has passed)."""
    decoder = await asyncio.create_subprocess_exec(
        *decode_command(path), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    errors = asyncio.create_task(_tail(decoder))
    sink: Sink | None = None
    try:
        first = await _read_chunk(decoder)
        if not first:
            raise PlaybackError(await _decode_error(decoder, errors))
        sink = await backend.open(playback_id)
        await sleep_until(at)
        await _stream(decoder, sink, first, progress, on_started, on_progress)
        if await decoder.wait() != 0:
            raise PlaybackError(await _decode_error(decoder, errors))
    except OSError as exc:
        raise PlaybackError(f"output_error: {exc}") from exc
    finally:
        await _stop(decoder, errors, sink)


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


async def _stop(decoder: asyncio.subprocess.Process, errors: asyncio.Task[bytes],
                sink: Sink | None) -> None:
    """Close the sink, end the decoder and read its pipes to the end so they close."""
    if sink is not None:
        await sink.close()
    if decoder.returncode is None:
        decoder.kill()
    assert decoder.stdout is not None
    while await decoder.stdout.read(1 << 16):
        pass
    await decoder.wait()
    await errors
