"""The real agent process against a real Mosquitto, with this test acting as the scheduler."""

from __future__ import annotations

import os
import signal
import sys
import threading
import wave
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.agents.conftest import TOKEN, Clip
from tests.agents.mediaserver import MediaServer
from tests.support.mosquitto import Mosquitto
from tests.support.procs import Proc, wait_for
from wardcast.protocol import (
    Channel,
    Event,
    EventType,
    Plan,
    PlanItem,
    Status,
    decode,
    encode,
    scheduler_subscriptions,
    station_topic,
    utcnow,
)

STATION = "ward-07"
SCHEDULER = "test-scheduler"
SCHEDULER_PASSWORD = "test-scheduler-secret"
REPO = Path(__file__).resolve().parents[2]


def grant(broker: Mosquitto) -> None:
    """Create the station and scheduler logins with the ACLs production uses."""
    topic = f"wardcast/stations/{STATION}"
    commands = [
        ("createClient", STATION, "-c", STATION, "-p", TOKEN),
        ("createRole", "station"),
        *[("addRoleACL", "station", "publishClientSend", f"{topic}/{c}", "allow")
          for c in ("sync", "events", "status")],
        *[("addRoleACL", "station", "subscribeLiteral", f"{topic}/{c}", "allow")
          for c in ("plan", "cmd")],
        ("addClientRole", STATION, "station"),
        ("createClient", SCHEDULER, "-p", SCHEDULER_PASSWORD),
        ("createRole", "scheduler"),
        ("addRoleACL", "scheduler", "publishClientSend", "wardcast/stations/#", "allow"),
        ("addRoleACL", "scheduler", "subscribePattern", "wardcast/stations/#", "allow"),
        ("addClientRole", SCHEDULER, "scheduler"),
    ]
    for command in commands:
        result = broker.ctrl(*command)
        assert result.returncode == 0 and "Error" not in result.stdout, (command, result)


class FakeScheduler:
    """Answers every SyncRequest with a plan and records what the agent sends."""

    def __init__(self, broker: Mosquitto, plan_items: list[PlanItem]) -> None:
        self.items = plan_items
        self.events: list[Event] = []
        self.statuses: list[Status] = []
        self.syncs = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=SCHEDULER,
                                  clean_session=False)  # the broker queues for us while down
        self.client.username_pw_set(SCHEDULER, SCHEDULER_PASSWORD)
        self.client.on_connect = lambda c, *_: c.subscribe(
            [(t, 1) for t in scheduler_subscriptions()])
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        channel = msg.topic.rsplit("/", 1)[1]
        with self._lock:
            if channel == Channel.EVENTS.value:
                self.events.append(decode(Event, bytes(msg.payload)))
            elif channel == Channel.STATUS.value:
                self.statuses.append(decode(Status, bytes(msg.payload)))
            elif channel == Channel.SYNC.value:
                self.syncs += 1
                self._send_plan()

    def _send_plan(self) -> None:
        plan_topic = station_topic(STATION, Channel.PLAN)
        self.client.publish(plan_topic, b"{not json", qos=1)  # must be dropped, not fatal
        now = utcnow()
        plan = Plan(station_id=STATION, revision=self.syncs, generated_at=now,
                    horizon_end=now + timedelta(hours=48), items=self.items)
        self.client.publish(plan_topic, encode(plan), qos=1)

    def of(self, playback_id: int) -> list[EventType]:
        with self._lock:
            return [e.type for e in self.events if e.playback_id == playback_id]

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def item(playback_id: int, clip: Clip, at_s: float, *, sha256: str | None = None) -> PlanItem:
    sha = sha256 or clip.sha256
    return PlanItem(playback_id=playback_id, bulletin_id=playback_id, title=f"item {playback_id}",
                    scheduled_at=utcnow() + timedelta(seconds=at_s), sha256=sha,
                    duration_ms=clip.duration_ms, media_path=f"/api/v1/media/{sha}.opus")


def start_agent(broker: Mosquitto, server: MediaServer, tmp_path: Path) -> Proc:
    argv = [sys.executable, "-m", "agents", "--server", server.url, "--station", STATION,
            "--mqtt", broker.plain_url, "--output", f"file:{tmp_path / 'out'}",
            "--state-dir", str(tmp_path / "state"), "--heartbeat", "1", "--log-level", "DEBUG"]
    env = {"WARDCAST_AGENT_TOKEN": TOKEN,
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return Proc(argv, log=tmp_path / "agent.log", env=env).start()


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
    ids = [e.event_id for e in scheduler.events]
    assert len(ids) == len(set(ids))
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
