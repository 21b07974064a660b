"""The scheduler's side of the MQTT protocol, played by the tests, and the agent process."""

from __future__ import annotations

import os
import sys
import threading
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.agents.conftest import TOKEN, Clip
from tests.agents.mediaserver import MediaServer
from tests.support.mosquitto import Mosquitto
from tests.support.procs import Proc
from wardcast.protocol import (
    AGENT_PUBLISHES,
    AGENT_SUBSCRIBES,
    Ack,
    Channel,
    Command,
    CommandResult,
    CommandType,
    Event,
    EventType,
    Plan,
    PlanItem,
    Status,
    SyncRequest,
    decode,
    decode_events,
    encode,
    scheduler_subscriptions,
    station_topic,
    utcnow,
)

STATION = "ward-07"
SCHEDULER = "test-scheduler"
SCHEDULER_PASSWORD = "test-scheduler-secret"
REPO = Path(__file__).resolve().parents[2]


def grant(broker: Mosquitto, station: str = STATION, *, scheduler: bool = True) -> None:
    """Create the station's (and unless told not to the scheduler's) logins with the ACLs
    production uses."""
    for command in station_login(station) + (SCHEDULER_LOGIN if scheduler else []):
        result = broker.ctrl(*command)
        assert result.returncode == 0 and "Error" not in result.stdout, (command, result)


def station_login(station: str) -> list[tuple[str, ...]]:
    """The mosquitto_ctrl commands that make a station's login and role."""
    topic, role = f"wardcast/stations/{station}", f"station-{station}"
    return [
        ("createClient", station, "-c", station, "-p", TOKEN),
        ("createRole", role),
        *[("addRoleACL", role, "publishClientSend", f"{topic}/{c.value}", "allow")
          for c in AGENT_PUBLISHES],
        *[("addRoleACL", role, "subscribeLiteral", f"{topic}/{c.value}", "allow")
          for c in AGENT_SUBSCRIBES],
        ("addClientRole", station, role),
    ]


SCHEDULER_LOGIN: list[tuple[str, ...]] = [
    ("createClient", SCHEDULER, "-p", SCHEDULER_PASSWORD),
    ("createRole", "scheduler"),
    ("addRoleACL", "scheduler", "publishClientSend", "wardcast/stations/#", "allow"),
    ("addRoleACL", "scheduler", "subscribePattern", "wardcast/stations/#", "allow"),
    ("addClientRole", SCHEDULER, "scheduler"),
]


class FakeScheduler:
    """Answers every SyncRequest with a plan, records and acks what the agent sends.

    Like the real scheduler it ingests events idempotently: ``events`` holds each event once,
    in the order it first arrived, and ``deliveries`` counts how often each arrived.
    """

    def __init__(self, broker: Mosquitto, plan_items: list[PlanItem]) -> None:
        self.items = plan_items
        self.plans: dict[str, list[PlanItem]] = {}  # of other stations than STATION
        self.events: list[Event] = []
        self.deliveries: Counter[str] = Counter()
        self.event_messages = 0  # MQTT messages on the events topic (a batch is one)
        self.statuses: list[Status] = []
        self.results: list[CommandResult] = []
        self.syncs = 0
        self.features: list[str] = []  # of the last SyncRequest
        self.acking = True  # ack each event as it arrives (the real scheduler: once committed)
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
                for event in decode_events(bytes(msg.payload)):
                    self._ingest(event)
                self.event_messages += 1
            elif channel == Channel.STATUS.value:
                self.statuses.append(decode(Status, bytes(msg.payload)))
            elif channel == Channel.SYNC.value:
                self.syncs += 1
                self.features = decode(SyncRequest, bytes(msg.payload)).features
                self._send_plan(msg.topic.split("/")[-2])
            elif channel == Channel.COMMAND_RESULT.value:
                self.results.append(decode(CommandResult, bytes(msg.payload)))

    def _ingest(self, event: Event) -> None:
        if not self.deliveries[event.event_id]:
            self.events.append(event)
        self.deliveries[event.event_id] += 1
        if self.acking:
            self.ack([event.event_id])

    def ack(self, event_ids: list[str]) -> None:
        """Tell the agent these events are committed (QoS 0, as the scheduler does)."""
        self.client.publish(station_topic(STATION, Channel.ACK),
                            encode(Ack(event_ids=event_ids)), qos=0)

    def _send_plan(self, station: str = STATION) -> None:
        plan_topic = station_topic(station, Channel.PLAN)
        self.client.publish(plan_topic, b"{not json", qos=1)  # must be dropped, not fatal
        now = utcnow()
        items = self.items if station == STATION else self.plans.get(station, [])
        plan = Plan(station_id=station, revision=self.syncs, generated_at=now,
                    horizon_end=now + timedelta(hours=48), items=items)
        self.client.publish(plan_topic, encode(plan), qos=1)

    def push(self, items: list[PlanItem]) -> None:
        """Change the plan and send it at once, as the scheduler does after a change."""
        with self._lock:
            self.items = items
            self._send_plan()

    def command(self, type_: CommandType, args: dict[str, Any] | None = None, *,
                command_id: str | None = None) -> str:
        """Send a command (QoS 1) and return its id."""
        command = Command(command_id=command_id or uuid.uuid4().hex, type=type_,
                          sent_at=utcnow(), args=args or {})
        self.client.publish(station_topic(STATION, Channel.COMMAND), encode(command), qos=1)
        return command.command_id

    def results_of(self, command_id: str) -> list[CommandResult]:
        with self._lock:
            return [r for r in self.results if r.command_id == command_id]

    def of(self, playback_id: int) -> list[EventType]:
        with self._lock:
            return [e.type for e in self.events if e.playback_id == playback_id]

    def event(self, playback_id: int, type_: EventType) -> Event:
        with self._lock:
            return next(e for e in self.events
                        if e.playback_id == playback_id and e.type is type_)

    def delivered(self, event_id: str) -> int:
        with self._lock:
            return self.deliveries[event_id]

    def stop(self) -> None:
        self.client.disconnect()  # first, so the network thread wakes up and ends at once
        self.client.loop_stop()


def item(playback_id: int, clip: Clip, at_s: float, *, sha256: str | None = None,
         preempt: bool = False, until_s: float | None = None, bulletin_id: int | None = None
         ) -> PlanItem:
    """A plan item at_s from now; until_s sets play_until (from now), as broadcasts do."""
    sha = sha256 or clip.sha256
    now = utcnow()
    return PlanItem(playback_id=playback_id, bulletin_id=bulletin_id or playback_id,
                    title=f"item {playback_id}", scheduled_at=now + timedelta(seconds=at_s),
                    sha256=sha, duration_ms=clip.duration_ms,
                    media_path=f"/api/v1/media/{sha}.opus", preempt=preempt,
                    play_until=None if until_s is None else now + timedelta(seconds=until_s))


def start_agent(broker: Mosquitto, server: MediaServer, tmp_path: Path, *extra: str,
                station: str = STATION) -> Proc:
    argv = [sys.executable, "-m", "wardcast.cli", "agent", "--server", server.url,
            "--station", station,
            "--mqtt", broker.plain_url, "--output", f"file:{tmp_path / 'out'}",
            "--state-dir", str(tmp_path / "state"), "--heartbeat", "1", "--log-level", "DEBUG",
            *extra]
    env = {"WARDCAST_AGENT_TOKEN": TOKEN,
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return Proc(argv, log=tmp_path / "agent.log", env=env).start()
