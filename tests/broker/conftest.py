"""A running scheduler on each broker, and station logins driven with the real mosquitto clients.

The kinds: `mosquitto` (an external Mosquitto with dynamic security, as deploy/ ships it),
`embedded` (the Mosquitto `wardcast serve` runs itself: password file and ACL patterns) and
`amqtt` (the in-process fallback where no Mosquitto binary exists). One scheduler per kind for
the whole package (starting one costs seconds); every test makes its own stations, so tests
do not see each other's state.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.mosquitto import Mosquitto
from tests.support.procs import wait_for
from tests.support.server import Server, approve
from wardcast.protocol import Channel, station_topic, to_wire

_names = itertools.count(1)


@dataclass(frozen=True)
class Station:
    id: int
    token: str

    @property
    def name(self) -> str:
        return str(self.id)

    def topic(self, channel: Channel) -> str:
        return station_topic(self.name, channel)


@dataclass
class Broker:
    """A scheduler with its broker, and ways to log in to that broker as a station."""

    kind: str
    server: Server
    api: httpx.Client
    bulletin_id: int

    @property
    def port(self) -> int:
        return self.server.mqtt_port

    @property
    def renames_client_ids(self) -> bool:
        """The supervised Mosquitto takes any client id a station sends as its own station id
        (use_username_as_clientid) where the others refuse the login."""
        return self.kind == "embedded"

    @property
    def refuses_foreign_subscriptions(self) -> bool:
        """Dynamic security and amqtt refuse the SUBSCRIBE itself; Mosquitto's acl_file grants
        it and then delivers nothing the login may not read."""
        return self.kind != "embedded"

    def _login(self, username: str | None, password: str | None,
               client_id: str | None) -> list[str]:
        args = ["-h", "127.0.0.1", "-p", str(self.port), "-V", "mqttv311", "-q", "1"]
        if client_id:
            args += ["-i", client_id]
        if username is not None:
            args += ["-u", username]
        if password is not None:
            args += ["-P", password]
        return args

    def pub(self, topic: str, payload: bytes, *, username: str | None, password: str | None,
            client_id: str | None = None) -> subprocess.CompletedProcess[bytes]:
        """Publish one QoS 1 message with mosquitto_pub (payload from stdin, any bytes)."""
        if client_id is None:
            client_id = username
        source = ["-s"] if payload else ["-n"]  # -s refuses empty input
        return subprocess.run(
            ["mosquitto_pub", *self._login(username, password, client_id), "-t", topic, *source],
            input=payload, capture_output=True, timeout=20)

    def pub_as(self, station: Station, topic: str, payload: bytes | dict[str, Any]
               ) -> subprocess.CompletedProcess[bytes]:
        """Publish with a station's own login; the publish itself must be accepted."""
        data = json.dumps(payload).encode() if isinstance(payload, dict) else payload
        done = self.pub(topic, data, username=station.name, password=station.token)
        assert done.returncode == 0, done.stderr
        return done

    def sub(self, topics: list[str], *, username: str | None, password: str | None,
            client_id: str | None = None, log: Path, extra: tuple[str, ...] = ()
            ) -> subprocess.Popen[bytes]:
        """Start mosquitto_sub (verbose: "topic payload" lines) writing to a log file."""
        if client_id is None:
            client_id = username
        args = ["mosquitto_sub", *self._login(username, password, client_id), "-v", *extra]
        for topic in topics:
            args += ["-t", topic]
        with log.open("wb") as out:
            return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)

    def can_log_in(self, station: Station, *, token: str | None = None) -> bool:
        """Connect and subscribe to the station's own plan topic, then leave."""
        done = subprocess.run(
            ["mosquitto_sub", *self._login(station.name, token or station.token, station.name),
             "-t", station.topic(Channel.PLAN), "-E"], capture_output=True, timeout=20)
        return done.returncode == 0

    def station(self) -> Station:
        """Register a station and wait until the broker accepts its login."""
        answer = self.api.post("/stations", json={"name": f"Trạm thử {next(_names)}",
                                                  "ward": "Phường Tân Lợi"})
        assert answer.status_code == 201, answer.text
        station = Station(int(answer.json()["id"]), str(answer.json()["token"]))
        # Mosquitto learns of it through a dynamic-security command sent over MQTT
        wait_for(lambda: self.can_log_in(station), timeout=15, what="the station's login")
        return station

    def playback(self, station: Station, *, in_hours: float = 6) -> int:
        """Schedule the bulletin once on a station, well ahead; return the playback id."""
        at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=in_hours)
        answer = self.api.post("/timetables", json={
            "bulletin_id": self.bulletin_id, "station_ids": [station.id],
            "starts_at": to_wire(at), "priority": "normal"})
        assert answer.status_code == 201, answer.text
        rows = self.playbacks(station)
        return int(max(rows, key=lambda r: int(r["id"]))["id"])

    def playbacks(self, station: Station) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.api.get(
            "/playbacks", params={"station_id": station.id, "limit": 1000}).json()["items"]
        return items

    def playback_row(self, playback_id: int) -> dict[str, Any]:
        rows = self.api.get("/playbacks", params={"limit": 1000}).json()["items"]
        return next(r for r in rows if r["id"] == playback_id)

    def station_row(self, station: Station) -> dict[str, Any]:
        row: dict[str, Any] = self.api.get(f"/stations/{station.id}").json()
        return row

    def wait_playback(self, playback_id: int, status: str, *, timeout: float = 15) -> None:
        wait_for(lambda: self.playback_row(playback_id)["status"] == status, timeout=timeout,
                 what=f"playback {playback_id} to be {status}")


class StationClient:
    """One paho connection logged in as a station (client id = username = station id)."""

    def __init__(self, broker: Broker, station: Station, *, token: str | None = None) -> None:
        self.station = station
        self.received: list[tuple[str, bytes]] = []
        self.disconnected = False
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=station.name,
                                  clean_session=True, protocol=mqtt.MQTTv311)
        self.client.username_pw_set(station.name, token or station.token)
        self.client.on_message = lambda _c, _u, m: self.received.append(
            (m.topic, bytes(m.payload)))
        self.client.on_disconnect = self._on_disconnect
        self.client.connect("127.0.0.1", broker.port, keepalive=30)
        self.client.loop_start()
        wait_for(self.client.is_connected, timeout=10, what=f"station {station.id} to connect")

    def _on_disconnect(self, *_args: Any) -> None:
        self.disconnected = True

    def subscribe(self, *channels: Channel) -> None:
        info = self.client.subscribe([(self.station.topic(c), 1) for c in channels])
        assert info[0] == mqtt.MQTT_ERR_SUCCESS

    def publish(self, channel: Channel, payload: dict[str, Any]) -> None:
        self.client.publish(self.station.topic(channel), json.dumps(payload), qos=1
                            ).wait_for_publish(10)

    def got(self, channel: Channel) -> list[bytes]:
        topic = self.station.topic(channel)
        return [payload for t, payload in list(self.received) if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def event(playback_id: int, kind: str = "accepted", **extra: Any) -> dict[str, Any]:
    """A well-formed Event payload with a fresh id."""
    return {"v": 1, "event_id": f"ev-{time.monotonic_ns()}", "playback_id": playback_id,
            "type": kind, "at": to_wire(datetime.now(UTC)), "boot_id": "boot-test", **extra}


def status(state: str = "online", **extra: Any) -> dict[str, Any]:
    return {"v": 1, "state": state, "boot_id": "boot-test", "at": to_wire(datetime.now(UTC)),
            **extra}


@pytest.fixture(scope="package", params=["mosquitto", "embedded", "amqtt"])
def broker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           speech_mp3: Path) -> Iterator[Broker]:
    workdir = tmp_path_factory.mktemp(f"broker-{request.param}")
    mosquitto: Mosquitto | None = None
    external: str | None = None
    if request.param == "mosquitto":
        mosquitto = Mosquitto(workdir / "mosquitto").setup().start()
        external = mosquitto.url
    choice = {"embedded_broker": "amqtt"} if request.param == "amqtt" else {
        "embedded_broker": "mosquitto"} if request.param == "embedded" else {}
    server = Server(workdir / "server").setup(external_mqtt_url=external, **choice).start()
    try:
        api = server.api()
        with speech_mp3.open("rb") as handle:
            answer = api.post("/bulletins", files={"file": (speech_mp3.name, handle)},
                              data={"title": "Thông báo thử", "language": "vi"})
        assert answer.status_code == 201, answer.text
        bulletin_id = int(answer.json()["id"])
        approve(api, bulletin_id)
        yield Broker(request.param, server, api, bulletin_id)
        assert server.healthy(), "the scheduler is no longer healthy"
    finally:
        server.stop()
        if mosquitto:
            mosquitto.stop()
