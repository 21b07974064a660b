"""A session's transcoder: the mount never goes quiet (silence while no source sends, so
agents stay connected), only what a source said is recorded, a new source replaces the old,
and the session's timers fire. The mount is a file here: what Icecast would have received."""

from __future__ import annotations

import subprocess
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.live.ingest import (
    DECODER_ENDED,
    REPLACED,
    STOPPED,
    Feed,
    FeedClosed,
    Timers,
    Transcoder,
)
from scheduler.live.models import StopReason
from tests.support.audio import wav_duration_ms
from tests.support.procs import wait_for

LONG = Timers(drop_s=60, first_s=60, max_s=600)


def duration_s(path: Path) -> float:
    found = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "csv=p=0", str(path)], capture_output=True, text=True,
                           check=True).stdout
    return float(found)


class Made:
    """A transcoder writing its mount to a file, and the reasons it stopped itself for."""

    def __init__(self, folder: Path, timers: Timers) -> None:
        self.mount = folder / "mount.ogg"
        self.recording = folder / "live" / "rec.wav"
        self.stops: list[StopReason] = []
        self.stopped = threading.Event()
        self.began = 0.0  # when the transcoder was started (monotonic)
        self.transcoder = Transcoder(session_id=7, source_url=str(self.mount),
                                     recording=self.recording, timers=timers,
                                     on_stop=self._stop)

    def _stop(self, reason: StopReason) -> None:
        self.stops.append(reason)
        self.stopped.set()


@pytest.fixture
def made(tmp_path: Path) -> Iterator[Made]:
    made = Made(tmp_path, LONG)
    made.began = time.monotonic()  # the mount's silence runs from here
    made.transcoder.start()
    yield made
    made.transcoder.close()


@pytest.fixture
def speech_ogg(speech: Path) -> Path:
    target = speech.with_name("speech-ingest.ogg")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(speech), "-c:a", "libopus",
                    "-page_duration", "20000", "-f", "ogg", str(target)], check=True)
    return target


def send_paced(feed: Feed, data: bytes, seconds: float) -> None:
    """Send data over about `seconds`, as a live source would."""
    pieces = max(1, int(seconds / 0.05))
    step = -(-len(data) // pieces)
    for start in range(0, len(data), step):
        feed.write(data[start:start + step])
        time.sleep(0.05)
    feed.finish()


def test_the_mount_is_fed_without_gaps_and_only_speech_is_recorded(
        made: Made, speech: Path, speech_ogg: Path) -> None:
    began = made.began
    wait_for(lambda: made.mount.is_file() and made.mount.stat().st_size > 2000, timeout=10,
             what="silence on the mount before any source")
    speech_s = wav_duration_ms(speech) / 1000
    feed = made.transcoder.connect()
    assert made.transcoder.connected
    send_paced(feed, speech_ogg.read_bytes(), speech_s)
    wait_for(lambda: not made.transcoder.connected, timeout=5, what="the source to end")
    assert made.transcoder.said_s == pytest.approx(speech_s, abs=0.05)
    wait_for(lambda: time.monotonic() - began > speech_s + 3, timeout=speech_s + 10,
             what="silence after the source")
    elapsed = time.monotonic() - began
    recording = made.transcoder.close()
    assert recording == made.recording
    with wave.open(str(recording)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (48_000, 1)
        assert wav.getnframes() / 48_000 == pytest.approx(speech_s, abs=0.05)
    # silence, the speech, silence: as long as the session, no gap (shorter) nor backlog
    # (longer) beyond the pusher's start-up
    assert elapsed - 1.0 < duration_s(made.mount) <= elapsed + 0.05
    assert made.stops == []


def test_a_new_source_replaces_the_one_before(made: Made, speech_ogg: Path) -> None:
    first = made.transcoder.connect()
    first.write(speech_ogg.read_bytes()[:2000])
    second = made.transcoder.connect()
    with pytest.raises(FeedClosed) as replaced:
        first.write(b"more")
    assert replaced.value.why == REPLACED
    second.write(speech_ogg.read_bytes())
    second.finish()
    wait_for(lambda: not made.transcoder.connected, timeout=5, what="the second to end")
    assert made.transcoder.said_s > 1


def test_what_is_not_audio_is_refused(made: Made) -> None:
    feed = made.transcoder.connect()
    with pytest.raises(FeedClosed) as refused:
        for _ in range(1000):  # the decoder gives up on it (after ~1 MB) and ends
            feed.write(b"this is not audio, only a confused client's text\n" * 80)
            time.sleep(0.005)
    assert refused.value.why == DECODER_ENDED and refused.value.said


def test_a_closed_session_takes_no_source(made: Made) -> None:
    feed = made.transcoder.connect()
    assert made.transcoder.close() is None  # nothing said: no recording left behind
    assert not made.recording.exists()
    with pytest.raises(FeedClosed) as closed:
        feed.write(b"late")
    assert closed.value.why == STOPPED
    with pytest.raises(FeedClosed):
        made.transcoder.connect()


@pytest.mark.parametrize(("timers", "reason"), [
    (Timers(drop_s=0.5, first_s=0.5, max_s=600), StopReason.NO_SOURCE),
    (Timers(drop_s=60, first_s=60, max_s=1), StopReason.MAX_DURATION),
])
def test_a_session_stops_itself(tmp_path: Path, timers: Timers, reason: StopReason) -> None:
    made = Made(tmp_path, timers)
    made.transcoder.start()
    try:
        assert made.stopped.wait(10), "no stop"
        assert made.stops == [reason]
    finally:
        made.transcoder.close()


def test_a_source_gone_for_drop_s_stops_it(tmp_path: Path, speech_ogg: Path) -> None:
    """A source back within drop_s keeps the session; one gone for longer stops it."""
    made = Made(tmp_path, Timers(drop_s=1, first_s=60, max_s=600))
    made.transcoder.start()
    try:
        feed = made.transcoder.connect()
        feed.write(speech_ogg.read_bytes())
        feed.finish()
        wait_for(lambda: not made.transcoder.connected, timeout=5, what="the source to end")
        back = made.transcoder.connect()  # back in time: its timer is off while it is here
        assert not made.stopped.wait(1.5)
        back.finish()
        wait_for(lambda: not made.transcoder.connected, timeout=5, what="the source to end")
        assert made.stopped.wait(10)
        assert made.stops == [StopReason.SOURCE_LOST]
    finally:
        made.transcoder.close()
