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
REAL_TIME_MARKERS = frozenset({"e2e", "faults", "bench"})
REAL_TIME_FOLDERS = frozenset({"agents", "simulate"})
# Real time, but waiting on pages rather than measuring milliseconds: two at a time is safe
# (each worker its own scheduler and browser), and halves the longest part of the suite.
PAIRED_FOLDERS = frozenset({"web"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--serial", choices=("all", "only", "paired", "skip"), default="all",
                     help="run every test, only the real-time ones (marker `serial`), only the "
                          "browser ones (marker `paired`), or neither (`make test` runs the "
                          "rest two at a time, then the paired two at a time, then the serial "
                          "alone)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `serial` what plays or measures in real time, `paired` what drives a browser; keep
    what --serial asks.

    A test that checks an agent started within milliseconds of its slot must not share the two
    cores with another test's ffmpeg, so `make test` runs these alone, after the others.
    """
    tests_root = Path(__file__).parent
    for item in items:
        folder = item.path.relative_to(tests_root).parts[0]
        markers = {mark.name for mark in item.iter_markers()}
        if markers & REAL_TIME_MARKERS or folder in REAL_TIME_FOLDERS:
            item.add_marker(pytest.mark.serial)
        elif folder in PAIRED_FOLDERS:
            item.add_marker(pytest.mark.paired)
    wanted = config.getoption("serial")
    if wanted == "all":
        return
    keep, drop = [], []
    for item in items:
        kind = ("only" if item.get_closest_marker("serial") is not None
                else "paired" if item.get_closest_marker("paired") is not None else "skip")
        (keep if kind == wanted else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


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
