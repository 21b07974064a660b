"""The agent's delivery guarantees, with a real Mosquitto and the test acting as scheduler.

Events are published until the scheduler acks them (across reconnects, restarts and on a
timer), and an agent killed mid-playback leaves a valid WAV and reports what it played.
"""

from __future__ import annotations

import signal
import threading
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.store import read_event_log
from tests.agents.conftest import Clip
from tests.agents.mediaserver import MediaServer
from tests.agents.scheduler_stub import STATION, FakeScheduler, grant, item, start_agent
from tests.support.mosquitto import Mosquitto
from tests.support.procs import wait_for
from wardcast.protocol import Channel, EventType, station_topic, utcnow

FAR = 3600.0  # seconds: an item that will not play during the test


@pytest.fixture
def scheduler(mosquitto: Mosquitto) -> Iterator[FakeScheduler]:
    grant(mosquitto)
    fake = FakeScheduler(mosquitto, [])
    yield fake
    fake.stop()


def local_log(tmp_path: Path) -> dict[str, dict[str, object]]:
    """Read the agent's event log (as `wardcast agent-log` does), keyed by event id."""
    rows = read_event_log(tmp_path / "state" / "agent.sqlite3")
    columns = ("seq", "event_id", "playback_id", "type", "at", "clock_offset_ms", "boot_id",
               "position_ms", "reason", "published_at", "confirmed_at")
    return {str(row[1]): dict(zip(columns, row, strict=True)) for row in rows}


def restart_broker(broker: Mosquitto, scheduler: FakeScheduler) -> None:
    syncs = scheduler.syncs
    broker.stop()
    broker.start()
    wait_for(lambda: scheduler.syncs > syncs, timeout=10, what="the agent to reconnect")


def test_events_are_sent_again_after_reconnect_and_restart_until_acked(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, clips: list[Clip],
        scheduler: FakeScheduler) -> None:
    scheduler.acking = False
    scheduler.items = [item(301, clips[0], FAR)]
    agent = start_agent(mosquitto, media_server, tmp_path)  # --resend-after stays 30 s
    try:
        wait_for(lambda: EventType.DOWNLOADED in scheduler.of(301), timeout=10,
                 what=f"the download; agent log:\n{agent.output()[-3000:]}")
        ids = [scheduler.event(301, t).event_id
               for t in (EventType.ACCEPTED, EventType.DOWNLOADED)]
        # PUBACKed by the broker, so "published", but not confirmed (read while it runs)
        wait_for(lambda: all(local_log(tmp_path)[i]["published_at"] for i in ids),
                 timeout=5, what="the PUBACKs")
        assert not any(local_log(tmp_path)[i]["confirmed_at"] for i in ids)

        restart_broker(mosquitto, scheduler)
        wait_for(lambda: all(scheduler.delivered(i) == 2 for i in ids), timeout=5,
                 what="the unconfirmed events again after the reconnect")

        agent.kill()
        scheduler.acking = True
        agent = start_agent(mosquitto, media_server, tmp_path)
        wait_for(lambda: all(local_log(tmp_path)[i]["confirmed_at"] for i in ids),
                 timeout=10, what=f"the acks; agent log:\n{agent.output()[-3000:]}")
        assert all(scheduler.delivered(i) == 3 for i in ids)  # once more after the restart

        restart_broker(mosquitto, scheduler)  # confirmed events are not sent again
        threading.Event().wait(0.5)
    finally:
        agent.stop()
    assert all(scheduler.delivered(i) == 3 for i in ids)
    assert scheduler.of(301) == [EventType.ACCEPTED, EventType.DOWNLOADED]


def test_events_made_together_go_in_one_message_and_an_outbox_in_batches(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, clips: list[Clip],
        scheduler: FakeScheduler) -> None:
    scheduler.acking = False
    scheduler.items = [item(600 + n, clips[0], FAR + n) for n in range(150)]
    agent = start_agent(mosquitto, media_server, tmp_path)
    try:
        wait_for(lambda: len(scheduler.events) == 300, timeout=15,
                 what=f"150 accepted and 150 downloaded; agent log:\n{agent.output()[-3000:]}")
        # the 150 of each kind are made in one turn each: 2 + 2 messages, not 300
        assert scheduler.event_messages == 4
        ids = [event.event_id for event in scheduler.events]
        wait_for(lambda: all(local_log(tmp_path)[i]["published_at"] for i in ids),
                 timeout=5, what="the PUBACKs of every batch")
        restart_broker(mosquitto, scheduler)
        wait_for(lambda: all(scheduler.delivered(i) == 2 for i in ids), timeout=10,
                 what="the unconfirmed outbox again after the reconnect")
        assert scheduler.event_messages == 4 + 3  # 300 unconfirmed events in batches of 100
        scheduler.acking = True
        scheduler.ack(ids)
        wait_for(lambda: all(e["confirmed_at"] for e in local_log(tmp_path).values()),
                 timeout=5, what="every event of the batches to be confirmed")
    finally:
        agent.stop()
    assert [e.event_id for e in scheduler.events] == ids  # each kept its place


def test_events_are_republished_on_a_timer_until_acked(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, clips: list[Clip],
        scheduler: FakeScheduler) -> None:
    scheduler.acking = False
    scheduler.items = [item(311, clips[0], FAR)]
    agent = start_agent(mosquitto, media_server, tmp_path, "--resend-after", "0.5")
    try:
        wait_for(lambda: EventType.ACCEPTED in scheduler.of(311), timeout=10,
                 what=f"the accepted event; agent log:\n{agent.output()[-3000:]}")
        accepted = scheduler.event(311, EventType.ACCEPTED).event_id
        wait_for(lambda: scheduler.delivered(accepted) >= 3, timeout=5,
                 what="the unconfirmed event to be republished while connected")
        ack_topic = station_topic(STATION, Channel.ACK)
        scheduler.client.publish(ack_topic, b'{"v": 1, "event_ids": "not a list"}', qos=0)
        scheduler.ack(["f" * 32])  # an id the agent never sent
        scheduler.acking = True
        wait_for(lambda: all(e["confirmed_at"] for e in local_log(tmp_path).values()),
                 timeout=5, what="every event to be confirmed")
        sent = scheduler.delivered(accepted)
        threading.Event().wait(1.5)  # three resend periods
        assert scheduler.delivered(accepted) == sent
        agent.stop(sig=signal.SIGTERM)
    finally:
        agent.stop()
    assert "dropped a malformed ack message" in agent.output()
    assert "Traceback" not in agent.output()
    assert agent.popen is not None and agent.popen.returncode == 0


def test_agent_killed_mid_playback_leaves_a_valid_wav_and_reports_it_once(
        tmp_path: Path, mosquitto: Mosquitto, media_server: MediaServer, long_clip: Clip,
        scheduler: FakeScheduler) -> None:
    media_server.files[long_clip.media_path] = long_clip.path.read_bytes()
    scheduler.items = [item(401, long_clip, 3.0)]
    agent = start_agent(mosquitto, media_server, tmp_path)
    try:
        wait_for(lambda: EventType.STARTED in scheduler.of(401), timeout=10,
                 what=f"the start; agent log:\n{agent.output()[-3000:]}")
        started = scheduler.event(401, EventType.STARTED)
        threading.Event().wait(2.4)
        agent.kill()
        played_s = (utcnow() - started.at).total_seconds()
        wav_ms = check_partial_wav(tmp_path / "out", long_clip, played_s)

        agent = start_agent(mosquitto, media_server, tmp_path)
        wait_for(lambda: EventType.INTERRUPTED in scheduler.of(401), timeout=10,
                 what=f"the interrupted event; agent log:\n{agent.output()[-3000:]}")
        threading.Event().wait(1.0)  # a replay would start at once: the slot is in grace
    finally:
        agent.stop()
    assert_reported_once(scheduler, tmp_path, wav_ms)


def check_partial_wav(out: Path, clip: Clip, played_s: float) -> float:
    """The killed agent's WAV is readable and holds the start of the clip, as played."""
    [wav_path] = out.glob("pb401_*.wav")
    with wave.open(str(wav_path)) as wav:
        frames = wav.readframes(wav.getnframes())
    assert frames == clip.pcm[: len(frames)]
    wav_ms = len(frames) * 1000 / (2 * 48_000)
    assert abs(wav_ms / 1000 - played_s) < 1.5, (wav_ms, played_s)
    return wav_ms


def assert_reported_once(scheduler: FakeScheduler, tmp_path: Path, wav_ms: float) -> None:
    """Interrupted at the last saved position; never started again."""
    assert scheduler.of(401) == [EventType.ACCEPTED, EventType.DOWNLOADED, EventType.STARTED,
                                 EventType.INTERRUPTED]
    interrupted = scheduler.event(401, EventType.INTERRUPTED)
    assert interrupted.reason == "agent_restarted"
    assert interrupted.position_ms is not None
    assert 1000 <= interrupted.position_ms <= wav_ms < interrupted.position_ms + 1500
    assert len(list((tmp_path / "out").glob("pb401_*.wav"))) == 1
    logged = [e for e in local_log(tmp_path).values() if e["playback_id"] == 401]
    assert [e["type"] for e in logged] == ["accepted", "downloaded", "started", "interrupted"]
    assert logged[-1]["position_ms"] == interrupted.position_ms


