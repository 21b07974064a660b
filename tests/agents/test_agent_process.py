"""The real agent process against a real Mosquitto, with this test acting as the scheduler."""

from __future__ import annotations

import signal
import threading
import wave
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.agents.conftest import Clip
from tests.agents.mediaserver import MediaServer
from tests.agents.scheduler_stub import FakeScheduler, grant, item, start_agent
from tests.support.mosquitto import Mosquitto
from tests.support.procs import wait_for
from wardcast.protocol import EventType, utcnow


@pytest.fixture
def scheduler_and_items(mosquitto: Mosquitto, clips: list[Clip]) -> Iterator[FakeScheduler]:
    grant(mosquitto)
    lead = 4.0
    second = lead + clips[0].duration_ms / 1000 + 0.8
    third = second + clips[1].duration_ms / 1000 + 0.5
    items = [
        item(101, clips[0], lead),
        item(102, clips[1], second),
        item(103, clips[0], -30),  # its slot passed long ago
        item(104, clips[0], third, sha256="f" * 64),  # media the server does not have
    ]
    scheduler = FakeScheduler(mosquitto, items)
    yield scheduler
    scheduler.stop()


def test_agent_plays_its_plan_on_time(tmp_path: Path, mosquitto: Mosquitto,
                                      media_server: MediaServer, clips: list[Clip],
                                      scheduler_and_items: FakeScheduler) -> None:
    scheduler = scheduler_and_items
    agent = start_agent(mosquitto, media_server, tmp_path)
    try:
        wait_for(lambda: EventType.FAILED in scheduler.of(104), timeout=25,
                 what=f"the last item to end; agent log:\n{agent.output()[-3000:]}")
        check_playbacks(scheduler, clips, tmp_path / "out")
        check_event_stream(scheduler)
        agent.stop(sig=signal.SIGTERM)
        assert agent.popen is not None and agent.popen.returncode == 0, agent.output()[-3000:]
        wait_for(lambda: scheduler.statuses[-1].state == "offline", timeout=5,
                 what="the offline status")
        check_restart_plays_nothing_twice(scheduler, mosquitto, media_server, clips, tmp_path)
    finally:
        agent.stop()
    assert "Traceback" not in agent.output()


def test_agent_plays_offline_and_reports_after_a_crash(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, clips: list[Clip],
        scheduler_and_items: FakeScheduler) -> None:
    """Broker down at the slot, agent killed after playing: the outbox still delivers."""
    scheduler = scheduler_and_items
    scheduler.items = [item(201, clips[0], 4.0)]
    media_server.clock_skew_s = 2.5  # the scheduler's clock is ahead: flag it, play anyway
    agent = start_agent(mosquitto, media_server, tmp_path)
    try:
        wait_for(lambda: EventType.DOWNLOADED in scheduler.of(201), timeout=10,
                 what=f"the download; agent log:\n{agent.output()[-3000:]}")
        mosquitto.stop()
        slot = scheduler.items[0].scheduled_at
        wait_for(lambda: utcnow() > slot + timedelta(seconds=2), timeout=10, what="the slot")
        agent.kill()  # unacknowledged events now exist only in the agent's outbox
        first_boot = scheduler.events[0].boot_id
        mosquitto.start()
        wait_for(scheduler.client.is_connected, timeout=10, what="the scheduler to reconnect")
        agent = start_agent(mosquitto, media_server, tmp_path)
        wait_for(lambda: EventType.FINISHED in scheduler.of(201), timeout=10,
                 what=f"the outbox replay; agent log:\n{agent.output()[-3000:]}")
    finally:
        agent.stop()
    assert scheduler.of(201) == [EventType.ACCEPTED, EventType.DOWNLOADED, EventType.STARTED,
                                 EventType.FINISHED]
    started = next(e for e in scheduler.events if e.type is EventType.STARTED)
    assert started.boot_id == first_boot
    assert started.clock_offset_ms is not None and 2400 < started.clock_offset_ms < 2600
    assert started.reason == f"clock_offset={started.clock_offset_ms}ms"
    assert abs((started.at - slot).total_seconds()) < 0.100
    [wav_path] = (tmp_path / "out").glob("pb201_*.wav")
    with wave.open(str(wav_path)) as wav:
        assert wav.readframes(wav.getnframes()) == clips[0].pcm


def check_playbacks(scheduler: FakeScheduler, clips: list[Clip], out: Path) -> None:
    """Both playable items played on time, sample for sample; the others did not play."""
    expected = {101: clips[0], 102: clips[1]}
    for playback_id, clip in expected.items():
        assert scheduler.of(playback_id) == [EventType.ACCEPTED, EventType.DOWNLOADED,
                                             EventType.STARTED, EventType.FINISHED]
        started, finished = (e for e in scheduler.events if e.playback_id == playback_id
                             and e.type in (EventType.STARTED, EventType.FINISHED))
        slot = next(i.scheduled_at for i in scheduler.items if i.playback_id == playback_id)
        assert abs((started.at - slot).total_seconds()) < 0.100
        assert finished.position_ms == clip.duration_ms
        assert started.clock_offset_ms is not None and abs(started.clock_offset_ms) < 1000
        [wav_path] = out.glob(f"pb{playback_id}_*.wav")
        with wave.open(str(wav_path)) as wav:
            assert wav.readframes(wav.getnframes()) == clip.pcm
    assert len(list(out.iterdir())) == 2
    skipped = [e for e in scheduler.events if e.playback_id == 103][-1]
    assert (skipped.type, skipped.reason) == (EventType.SKIPPED, "late")
    failed = [e for e in scheduler.events if e.playback_id == 104][-1]
    assert (failed.type, failed.reason) == (EventType.FAILED, "media_unavailable")


def check_event_stream(scheduler: FakeScheduler) -> None:
    """Events arrive once each, in the order the agent's clock stamped them."""
    assert set(scheduler.deliveries.values()) == {1}  # acked at once: never sent again
    stamps = [e.at for e in scheduler.events]
    assert stamps == sorted(stamps)
    assert len({e.boot_id for e in scheduler.events}) == 1
    assert any(s.state == "online" and s.now_playing == 101 for s in scheduler.statuses)


def check_restart_plays_nothing_twice(scheduler: FakeScheduler, broker: Mosquitto,
                                      server: MediaServer, clips: list[Clip], tmp_path: Path
                                      ) -> None:
    """A restarted agent replays nothing it played; SIGTERM mid-item reports interrupted."""
    seen = len(scheduler.events)
    scheduler.items = [*scheduler.items, item(105, clips[1], 3.0)]
    agent = start_agent(broker, server, tmp_path)
    try:
        wait_for(lambda: EventType.STARTED in scheduler.of(105), timeout=10,
                 what=f"item 105 to start; agent log:\n{agent.output()[-3000:]}")
        threading.Event().wait(0.5)
        agent.stop(sig=signal.SIGTERM)
        wait_for(lambda: EventType.INTERRUPTED in scheduler.of(105), timeout=5,
                 what="the interrupted event")
    finally:
        agent.stop()
    assert {e.playback_id for e in scheduler.events[seen:]} == {105}
    assert scheduler.of(105) == [EventType.ACCEPTED, EventType.DOWNLOADED, EventType.STARTED,
                                 EventType.INTERRUPTED]
    interrupted = scheduler.events[-1]
    assert interrupted.position_ms is not None and 300 < interrupted.position_ms < 1000
    [wav_path] = (tmp_path / "out").glob("pb105_*.wav")
    with wave.open(str(wav_path)) as wav:
        frames = wav.readframes(wav.getnframes())
    assert len(frames) * 1000 // (2 * 48_000) == interrupted.position_ms
    assert frames == clips[1].pcm[: len(frames)]
