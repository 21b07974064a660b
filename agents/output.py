"""Where the audio goes: paced PCM (s16le, mono, 48 kHz) from ffmpeg into a sink.

A playback streams one decoder's PCM into one sink, chunk k written when the monotonic clock
reaches start + k × 20 ms, computed from the start every time, so lateness never
accumulates. Memory stays bounded: the decoder blocks on its pipe until we read the next
chunk. Every second of audio written, ``on_progress`` gets the position, for the player to
save; every sample is scaled by the station's volume as it is written, into the sink of the
backend --output names (config.py). ``Output`` is what the player needs: a playback for a
plan item or a test tone; the simulator's plays nothing and keeps real time. A relay
(agents/relay.py) reads its decoders through a ``BufferedDecoder`` instead: it must never
wait on a stream past a chunk's instant.
"""

from __future__ import annotations

import asyncio
import re
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from agents.config import CHANNELS, SAMPLE_BYTES, Backend, Sink
from agents.fetch import sleep_until
from media.decode import SAMPLE_RATE, decode_command
from wardcast.protocol import EventType, PlanItem, broadcast_ref, utcnow

CHUNK_SAMPLES = SAMPLE_RATE // 50  # 20 ms
CHUNK_BYTES = CHUNK_SAMPLES * SAMPLE_BYTES
PROGRESS_SAMPLES = SAMPLE_RATE  # report the position every second of audio
STDERR_TAIL = 4096
AHEAD_CHUNKS = 1500  # a BufferedDecoder's audio ahead: 30 s, a bound on memory, not a target


class PlaybackError(RuntimeError):
    """Decoding or output failed; the message is the reason reported."""


@dataclass
class Progress:
    """How far a playback got; readable while it runs and after it is cancelled."""

    samples: int = 0
    started_at: datetime | None = None
    # how a playback that ran to its end ended, when not plainly finished (a relay's fill)
    ending: tuple[EventType, str | None] | None = None

    @property
    def position_ms(self) -> int:
        return self.samples * 1000 // SAMPLE_RATE


class Playback(Protocol):
    """One item (or tone) played into the output: prepared ahead, then run at its instant.

    ``prepare`` gets the first samples ready, so that a start (or a preemption) only has to
    open the sink and write. ``close`` may be called more than once.
    """

    progress: Progress

    async def prepare(self, *, open_sink: bool = True) -> None: ...
    async def run(self, at: datetime, *, on_started: Callable[[datetime], None],
                  on_progress: Callable[[int], None] = ...) -> None: ...
    async def close(self) -> None: ...


class Output(Protocol):
    """Makes the playbacks of plan items and test tones, at the station's volume."""

    volume: float  # percent: 100 leaves the samples as they are

    def item(self, item: PlanItem, path: Path | None) -> Playback: ...
    def tone(self, command_id: str, *, hz: float, seconds: float) -> Playback: ...


AGENT_STOPPED = "agent_stopped"


@dataclass
class ToneRequest:
    """A test tone asked for by a command; ``done(ok, detail)`` is called exactly once."""

    command_id: str
    hz: float
    seconds: float
    done: Callable[[bool, str], None]
    answered: bool = False

    def answer(self, ok: bool, detail: str) -> None:
        if not self.answered:
            self.answered = True
            self.done(ok, detail)


@dataclass
class OnAir:
    """What holds the output: a plan item, or a test tone (item None), and its task."""

    playback: Playback
    item: PlanItem | None = None
    tone: ToneRequest | None = None
    stop_reason: str | None = None  # why it was cut short, for its report
    task: asyncio.Task[None] = field(init=False)

    def describe(self) -> str:
        if self.item is not None:
            return f"playback {self.item.playback_id}"
        assert self.tone is not None
        return f"test tone {self.tone.command_id}"


async def perform_tone(on_air: OnAir, *, on_started: Callable[[datetime], None]) -> None:
    """Play a tone from now and answer its command with how it went."""
    tone, progress = on_air.tone, on_air.playback.progress
    assert tone is not None
    try:
        try:
            await on_air.playback.prepare()
            await on_air.playback.run(utcnow(), on_started=on_started)
        finally:
            await on_air.playback.close()
    except PlaybackError as exc:
        tone.answer(False, str(exc))
    except asyncio.CancelledError:
        reason = on_air.stop_reason or AGENT_STOPPED
        tone.answer(False, f"{reason} after {progress.position_ms} ms")
        raise
    else:
        tone.answer(True, f"played {tone.seconds:g} s of {tone.hz:g} Hz")


class AudioOutput:
    """The agent's Output: ffmpeg decodes, the backend plays."""

    def __init__(self, backend: Backend, *, volume: float = 100.0) -> None:
        self._backend = backend
        self.volume = volume

    def item(self, item: PlanItem, path: Path | None) -> Playback:
        """Return a playback of a plan item's cached media (relays: agents/relay.py)."""
        assert item.relay is None and path is not None, "a bulletin's cached media"
        return FfmpegPlayback(decode_command(path), backend=self._backend,
                              name=playback_name(item.playback_id), volume=self._level)

    def tone(self, command_id: str, *, hz: float, seconds: float) -> Playback:
        """Return a playback of a sine of hz for seconds."""
        return FfmpegPlayback(tone_command(hz=hz, seconds=seconds), backend=self._backend,
                              name=tone_name(command_id), volume=self._level)

    def _level(self) -> float:
        return self.volume


def tone_command(*, hz: float, seconds: float, sample_rate: int = SAMPLE_RATE) -> list[str]:
    """Return the ffmpeg argv that writes a sine of hz for seconds as raw s16le PCM."""
    # ffmpeg's sine source is 1/8 of full scale (-18 dBFS): audible, not startling.
    source = f"sine=frequency={hz:g}:sample_rate={sample_rate}:duration={seconds:g}"
    return ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "error",
            "-f", "lavfi", "-i", source, "-f", "s16le", "-acodec", "pcm_s16le",
            "-ac", str(CHANNELS), "-ar", str(sample_rate), "-"]


class FfmpegPlayback:
    """One decoder's PCM played into one sink, at the volume of each instant."""

    def __init__(self, command: list[str], *, backend: Backend, name: str,
                 volume: Callable[[], float] = lambda: 100.0,
                 progress: Progress | None = None) -> None:
        self._command = command
        self._backend = backend
        self._name = name
        self._volume = volume
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
            await _stream(decoder, sink, self._first, self.progress, on_started, on_progress,
                          self._volume)
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


class BufferedDecoder:
    """One ffmpeg's PCM read ahead into a bounded queue of chunks (b"" once it ended): a
    relay's stream and filler, taken chunk by chunk without waiting past an instant."""

    def __init__(self, command: list[str]) -> None:
        self._command = command
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue(AHEAD_CHUNKS)
        self._process: asyncio.subprocess.Process | None = None
        self._errors: asyncio.Task[bytes] | None = None
        self._reader: asyncio.Task[None] | None = None
        self.opened = time.monotonic()

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self._command, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        self._errors = asyncio.create_task(_tail(self._process))
        self._reader = asyncio.create_task(self._read(self._process))

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while True:
            try:
                chunk = await process.stdout.readexactly(CHUNK_BYTES)
            except asyncio.IncompleteReadError as exc:
                chunk = exc.partial[: len(exc.partial) - len(exc.partial) % SAMPLE_BYTES]
                if chunk:
                    await self._chunks.put(chunk)
                await self._chunks.put(b"")
                return
            await self._chunks.put(chunk)

    async def take(self, until: float) -> bytes | None:
        """Return the next chunk, waiting until monotonic time until at most; b"" at the
        end, None when nothing came in time."""
        try:
            return self._chunks.get_nowait()
        except asyncio.QueueEmpty:
            pass
        if (wait := until - time.monotonic()) <= 0:
            return None
        try:
            return await asyncio.wait_for(self._chunks.get(), wait)
        except TimeoutError:
            return None

    def skip(self, keep: int) -> int:
        """Drop the oldest chunks read ahead beyond keep (at least 1: the end, b"", is the
        last, so it stays); return how many were dropped."""
        dropped = 0
        while self._chunks.qsize() > max(keep, 1):
            self._chunks.get_nowait()
            dropped += 1
        return dropped

    async def error(self) -> str:
        """Say why the decoder ended."""
        assert self._process is not None and self._errors is not None
        return await _decode_error(self._process, self._errors)

    async def stop(self) -> None:
        """End the decoder and its reader."""
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._process is not None and self._errors is not None:
            await _stop(self._process, self._errors)



async def _stream(decoder: asyncio.subprocess.Process, sink: Sink, first: bytes,
                  progress: Progress, on_started: Callable[[datetime], None],
                  on_progress: Callable[[int], None], volume: Callable[[], float]) -> None:
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
        await sink.write(scale(chunk, volume()))
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


def scale(pcm: bytes, percent: float) -> bytes:
    """Scale s16le samples by percent, clipping to the 16-bit range."""
    if percent == 100:
        return pcm
    factor = percent / 100
    samples = array("h", pcm)
    for index, sample in enumerate(samples):
        samples[index] = max(-32768, min(32767, round(sample * factor)))
    return samples.tobytes()


def playback_name(playback_id: int) -> str:
    """Name the output of a plan item: pb<id>, or bc<broadcast>-<repeat> for a broadcast's
    playback the agent keeps by broadcast and repeat."""
    ref = broadcast_ref(playback_id)
    return f"pb{playback_id}" if ref is None else f"bc{ref[0]}-{ref[1]}"


def tone_name(command_id: str) -> str:
    """Name the output of a test tone (the command id made safe for a file name)."""
    return f"test-tone_{re.sub(r'[^A-Za-z0-9._-]', '-', command_id)[:64]}"
