"""Fixtures for the agent tests: short Opus bulletins, their PCM, and a media server."""

from __future__ import annotations

import hashlib
import subprocess
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from media.decode import decode_command
from tests.agents.mediaserver import MediaServer, serving
from tests.support.audio import SPEECH_VI, convert, speech_wav
from tests.support.mosquitto import Mosquitto

if TYPE_CHECKING:  # scheduler_stub imports this module
    from tests.agents.scheduler_stub import FakeScheduler

TOKEN = "station-test-token"
TEXTS = ("Thông báo của phường.", "Mời bà con đi họp tổ dân phố.")


@dataclass(frozen=True)
class Clip:
    """A distribution file as the scheduler serves it, and what it decodes to."""

    path: Path
    sha256: str
    pcm: bytes

    @property
    def media_path(self) -> str:
        return f"/api/v1/media/{self.sha256}.opus"

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) * 1000 // (2 * 48_000)


def decoded_pcm(path: Path) -> bytes:
    """Decode a file to s16le mono 48 kHz with ffmpeg, independently of the agent's pipe."""
    return subprocess.run(decode_command(path), capture_output=True, check=True).stdout


def make_clip(directory: Path, name: str, text: str) -> Clip:
    """Synthesise speech and encode it as Opus, like the distribution file."""
    wav = speech_wav(directory / f"{name}.wav", text=text)
    opus = convert(wav, directory / f"{name}.opus",
                   extra=["-ac", "1", "-c:a", "libopus", "-b:a", "24k"])
    data = opus.read_bytes()
    return Clip(opus, hashlib.sha256(data).hexdigest(), decoded_pcm(opus))


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Clip]:
    """Two short, different spoken bulletins."""
    directory = tmp_path_factory.mktemp("clips")
    return [make_clip(directory, f"clip{i}", text) for i, text in enumerate(TEXTS)]


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    """About nine seconds of speech: long enough to cut it in the middle."""
    return make_clip(tmp_path_factory.mktemp("long"), "long", SPEECH_VI)


def wav_frames(path: Path) -> bytes:
    """Return a WAV file's samples, checking it is s16 mono 48 kHz."""
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 48000)
        return wav.readframes(wav.getnframes())


@pytest.fixture
def media_server(clips: list[Clip]) -> Iterator[MediaServer]:
    """The scheduler's time and media routes, serving the clips."""
    server = MediaServer(token=TOKEN, files={c.media_path: c.path.read_bytes() for c in clips})
    with serving(server):
        yield server


@pytest.fixture
def scheduler(mosquitto: Mosquitto, media_server: MediaServer, long_clip: Clip
              ) -> Iterator[FakeScheduler]:
    """A fake scheduler with no plan, whose media server also serves the long clip."""
    from tests.agents.scheduler_stub import FakeScheduler, grant

    grant(mosquitto)
    media_server.files[long_clip.media_path] = long_clip.path.read_bytes()
    fake = FakeScheduler(mosquitto, [])
    yield fake
    fake.stop()
