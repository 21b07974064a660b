"""Real test audio for the media tests, made once per session with espeak-ng and ffmpeg."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.audio import convert, speech_wav

QUIET_DB = -12.0  # espeak speech is about -18.5 LUFS; this gives about -30 LUFS
LOUD_DB = 10.0  # about -8.5 LUFS

MakeSource = Callable[..., Path]


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a session directory for generated sources."""
    return tmp_path_factory.mktemp("media-audio")


@pytest.fixture(scope="session")
def speech(audio_dir: Path) -> Path:
    """Return a few seconds of Vietnamese speech as a WAV file."""
    return speech_wav(audio_dir / "speech.wav")


@pytest.fixture(scope="session")
def make_source(audio_dir: Path, speech: Path) -> MakeSource:
    """Return a factory converting the speech to a format, level, channel count and rate."""
    made: dict[tuple[str, float, int, int, str], Path] = {}

    def make(suffix: str, *, gain_db: float = 0.0, channels: int = 1, rate: int = 48000,
             codec: str = "") -> Path:
        key = (suffix, gain_db, channels, rate, codec)
        if key not in made:
            dest = audio_dir / f"src-{len(made)}.{suffix}"
            extra = ["-ac", str(channels), "-ar", str(rate)]
            made[key] = convert(speech, dest, gain_db=gain_db,
                                extra=[*extra, *(["-c:a", codec] if codec else [])])
        return made[key]

    return make


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    """Return an empty work directory for one test."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly, failing the test on error."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)
