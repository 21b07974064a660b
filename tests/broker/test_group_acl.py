"""A group's urgent topic reaches its members and no one else, from the moment the scheduler
changes the members: on Mosquitto with dynamic security, and on the default install's
supervised Mosquitto with its acl file. A station's login is what is checked, not what its
agent chooses to read: a client that stays subscribed after leaving the group hears no more.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.audio import speech_wav
from tests.support.mosquitto import Mosquitto
from tests.support.procs import wait_for
from tests.support.server import Server, upload_approved
from wardcast.protocol import FLEET_TOPIC, Urgent, decode, group_topic

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["mosquitto", "default"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    broker: Mosquitto | None = None
    if request.param == "mosquitto":
        broker = Mosquitto(tmp_path / "mosquitto").setup().start()
        running = Server(tmp_path / "server").setup(external_mqtt_url=broker.url)
    else:
        running = Server(tmp_path / "server").setup(embedded_broker="mosquitto")
    running.start()
    yield running
    running.stop()
    if broker:
        broker.stop()


class Listener:
    """A station's own login, reading topics as an agent does: a persistent session that
    asks for its topics again whenever it connects (dynamic security disconnects a client
    whose roles change)."""

    def __init__(self, server: Server, station: dict[str, Any]) -> None:
        self.heard: queue.Queue[tuple[str, int]] = queue.Queue()
        self.topics: list[str] = []
        self.subacks = 0
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=str(station["id"]),
                                  clean_session=False, protocol=mqtt.MQTTv311)
        self.client.username_pw_set(str(station["id"]), station["token"])
        self.client.reconnect_delay_set(0.2, 1)
        self.client.on_message = lambda _c, _u, m: self.heard.put(
            (m.topic, decode(Urgent, m.payload).broadcast_id))
        self.client.on_connect = lambda *_: self._subscribe()
        self.client.on_subscribe = lambda *_: self._subacked()
        self.client.connect("127.0.0.1", server.mqtt_port)
        self.client.loop_start()
        wait_for(self.client.is_connected, timeout=10, what="the listener to connect")

    def _subscribe(self) -> None:
        if self.topics:
            self.client.subscribe([(topic, 1) for topic in self.topics])

    def _subacked(self) -> None:
        self.subacks += 1

    def read(self, *topics: str) -> None:
        self.topics = list(topics)
        time.sleep(1.0)  # a disconnect the last change caused, if any, and the reconnect
        wait_for(self.client.is_connected, timeout=10, what="the listener connected")
        before = self.subacks
        self._subscribe()
        wait_for(lambda: self.subacks > before, timeout=10, what="the SUBACK")

    def next(self, within_s: float) -> tuple[str, int] | None:
        try:
            return self.heard.get(timeout=within_s)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _broadcast(api: httpx.Client, bulletin: int, **targets: object) -> int:
    made = api.post("/broadcasts", json={"bulletin_id": bulletin, "valid_minutes": 1,
                                         **targets})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_membership_changes_open_and_close_a_groups_topic_at_once(
        server: Server, tmp_path: Path) -> None:
    api = server.api()
    bulletin = int(upload_approved(api, speech_wav(tmp_path / "a.wav", text="Thử."),
                                   "Thử")["id"])
    member, candidate = (api.post("/stations", json={"name": f"Trạm {n}", "ward": "P1"}).json()
                         for n in ("member", "candidate"))
    city = api.post("/groups", json={"name": "Thành phố", "kind": "city"}).json()["id"]
    ward = api.post("/groups", json={"name": "Phường 1", "kind": "ward", "parent_id": city,
                                     "station_ids": [member["id"]]}).json()["id"]
    listener = Listener(server, candidate)
    try:
        listener.read(group_topic(ward), FLEET_TOPIC)
        sent = _broadcast(api, bulletin, group_ids=[ward])
        assert listener.next(3.0) is None  # not a member: the broker delivers nothing

        joined = api.patch(f"/groups/{ward}", json={"station_ids": [member["id"],
                                                                     candidate["id"]]})
        assert joined.status_code == 200, joined.text
        listener.read(group_topic(ward), group_topic(city))  # as its agent does on its plan
        sent = _broadcast(api, bulletin, group_ids=[ward])
        assert listener.next(5.0) == (group_topic(ward), sent)
        sent = _broadcast(api, bulletin, group_ids=[city])  # a group above its ward
        assert listener.next(5.0) == (group_topic(city), sent)

        left = api.patch(f"/groups/{ward}", json={"station_ids": [member["id"]]})
        assert left.status_code == 200, left.text
        _broadcast(api, bulletin, group_ids=[ward])  # still subscribed: no longer let through
        assert listener.next(3.0) is None

        sent = _broadcast(api, bulletin, everyone=True)  # the fleet's topic: every station
        assert listener.next(5.0) == (FLEET_TOPIC, sent)
    finally:
        listener.close()
    # started again: the roles are given again, and a role held already is no error
    server.stop()
    server.start()
    time.sleep(2.0)
    assert server.proc is not None
    assert "mosquitto refused" not in server.proc.output(), server.proc.output()[-3000:]
