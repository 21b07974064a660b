"""Fixtures shared by every test: real audio, a real Mosquitto, real databases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.audio import convert, speech_wav
from tests.support.mosquitto import Mosquitto
from tests.support.procs import Proc

POSTGRES_ENV = "WARDCAST_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def no_leftover_processes() -> Iterator[None]:
    """Stop what a test started and left running (e.g. an agent it never stopped)."""
    before = len(Proc.started)
    yield
    for proc in Proc.started[before:]:
        proc.stop(timeout=5)
    del Proc.started[before:]


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few seconds of Vietnamese speech as WAV."""
    return speech_wav(tmp_path_factory.mktemp("audio") / "speech.wav")


@pytest.fixture(scope="session")
def speech_mp3(speech: Path) -> Path:
    """Quiet speech as MP3 (about −30 LUFS)."""
    return convert(speech, speech.with_name("quiet.mp3"), gain_db=-10,
                   extra=["-ac", "2", "-ar", "44100", "-b:a", "128k"])


@pytest.fixture(scope="session")
def speech_m4a(speech: Path) -> Path:
    """Loud speech as M4A/AAC, as phones record it."""
    return convert(speech, speech.with_name("loud.m4a"), gain_db=8,
                   extra=["-c:a", "aac", "-b:a", "96k"])


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A real Mosquitto with dynamic security, on a free port."""
    broker = Mosquitto(tmp_path / "mosquitto").setup().start()
    yield broker
    broker.stop()


def postgres_url() -> str:
    """The PostgreSQL test database; `make test` and .ci/run provide it."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.fail(f"{POSTGRES_ENV} is not set: run the tests with `make test` (it starts "
                    "PostgreSQL) or point it at an empty database you can drop tables in")
    return url
