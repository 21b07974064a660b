"""Playback into the file and null outputs: exact samples, real-time pace, on-time start."""

from __future__ import annotations

import asyncio
import re
import time
import wave
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from agents.config import Backend, FileBackend, FileSink, NullBackend, wav_name
from agents.output import FfmpegPlayback, PlaybackError, Progress, playback_name
from media.decode import decode_command
from tests.agents.conftest import Clip
from wardcast.protocol import utcnow


async def play(path: Path, *, backend: Backend, playback_id: int, at: datetime,
               progress: Progress, on_started: Callable[[datetime], None],
               on_progress: Callable[[int], None] = lambda position_ms: None) -> None:
    """Decode path and play it from instant at, as the player plays an item."""
    playback = FfmpegPlayback(decode_command(path), backend=backend,
                              name=playback_name(playback_id), progress=progress)
    try:
        await playback.prepare()
        await playback.run(at, on_started=on_started, on_progress=on_progress)
    finally:
        await playback.close()


async def play_soon(clip_path: Path, backend: FileBackend | NullBackend, *, lead_s: float = 0.5
                    ) -> tuple[datetime, Progress, list[datetime], float]:
    """Play a file lead_s from now; return the slot, progress, started calls and wall time."""
    at = utcnow() + timedelta(seconds=lead_s)
    progress, started = Progress(), list[datetime]()
    await play(clip_path, backend=backend, playback_id=42, at=at, progress=progress,
               on_started=started.append)
    return at, progress, started, time.time() - at.timestamp()


def test_file_output_holds_exactly_the_decoded_samples(tmp_path: Path, clips: list[Clip]
                                                       ) -> None:
    clip = clips[1]
    at, progress, started, elapsed = asyncio.run(play_soon(clip.path, FileBackend(tmp_path)))
    [wav_path] = tmp_path.iterdir()
    assert re.fullmatch(r"pb42_\d{8}T\d{6}\.\d{3}Z\.wav", wav_path.name)
    assert wav_path.name == wav_name("pb42", started[0])
    with wave.open(str(wav_path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 48000)
        assert wav.readframes(wav.getnframes()) == clip.pcm
    assert progress.samples * 2 == len(clip.pcm)
    assert progress.position_ms == clip.duration_ms
    assert abs((started[0] - at).total_seconds()) < 0.010
    # paced in real time: the last chunk goes out 20 ms before the end of the audio
    assert clip.duration_ms / 1000 - 0.03 < elapsed < clip.duration_ms / 1000 + 0.15


def test_null_output_keeps_real_time_pace(clips: list[Clip]) -> None:
    clip = clips[0]
    _, progress, started, elapsed = asyncio.run(play_soon(clip.path, NullBackend(), lead_s=0.2))
    assert len(started) == 1 and progress.position_ms == clip.duration_ms
    assert clip.duration_ms / 1000 - 0.03 < elapsed < clip.duration_ms / 1000 + 0.15


def test_undecodable_file_fails_without_starting(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.opus"
    bogus.write_bytes(b"OggS but not really" * 100)
    with pytest.raises(PlaybackError, match="decode_error"):
        asyncio.run(play_soon(bogus, FileBackend(tmp_path / "out")))
    assert list((tmp_path / "out").iterdir()) == []


def test_cancelling_keeps_a_valid_wav_of_what_was_played(tmp_path: Path, clips: list[Clip]
                                                        ) -> None:
    clip = clips[1]

    async def cancel_midway() -> tuple[Progress, float]:
        progress = Progress()
        started: list[float] = []
        task = asyncio.create_task(play(
            clip.path, backend=FileBackend(tmp_path), playback_id=7, at=utcnow(),
            progress=progress, on_started=lambda at: started.append(time.monotonic())))
        await asyncio.sleep(0.5)
        task.cancel()
        cancelled = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the decoder's start-up (slower on a loaded machine) is not audio on air
        return progress, (cancelled - started[0]) * 1000

    progress, on_air_ms = asyncio.run(cancel_midway())
    # paced in real time up to the cancel: what was written is what was on air (± a chunk)
    assert progress.position_ms > 0
    assert on_air_ms - 150 <= progress.position_ms <= on_air_ms + 60
    [wav_path] = tmp_path.iterdir()
    with wave.open(str(wav_path)) as wav:
        frames = wav.readframes(wav.getnframes())
    assert frames == clip.pcm[: progress.samples * 2]


def test_progress_is_reported_every_second_of_audio(clips: list[Clip]) -> None:
    clip = clips[0]  # over a second
    positions: list[int] = []

    async def run() -> None:
        await play(clip.path, backend=NullBackend(), playback_id=1, at=utcnow(),
                   progress=Progress(), on_started=lambda at: None,
                   on_progress=positions.append)

    asyncio.run(run())
    assert positions == [1000 * (n + 1) for n in range(clip.duration_ms // 1000)]


def test_the_wav_is_valid_after_every_write(tmp_path: Path, clips: list[Clip]) -> None:
    """What a SIGKILL leaves: the file as it is on disk, never closed."""
    pcm = clips[0].pcm[: 48_000 * 2]

    async def write_without_closing() -> FileSink:
        sink = await FileBackend(tmp_path).open("pb3")
        sink.start(utcnow())
        for offset in range(0, len(pcm), 1920):
            await sink.write(pcm[offset : offset + 1920])
        assert isinstance(sink, FileSink)
        return sink

    sink = asyncio.run(write_without_closing())
    assert sink.path is not None
    with wave.open(str(sink.path)) as wav:  # another reader, while the writer's file is open
        assert wav.readframes(wav.getnframes()) == pcm
    asyncio.run(sink.close())
