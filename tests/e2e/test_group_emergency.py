"""A ward emergency as one message the broker fans out, with real agents and real brokers.

Runs on a Mosquitto of its own with dynamic security (production) and on `wardcast serve`'s
supervised Mosquitto with its acl file (the default install). The ward's agents play it, and
only they: a station added to the ward a moment before is reached, one removed is not, nor a
station of another ward; an agent that was offline when it was sent plays it once on
reconnect, though its broker session kept the group message for it and its plan lists it
too; a group message forged by a station is refused by the broker and ignored by agents.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.audio import speech_wav
from tests.support.mosquitto import Mosquitto
from tests.support.procs import Proc, wait_for
from tests.support.server import Server, start_agent, upload_approved, wait_status
from wardcast.protocol import (
    FLEET_TOPIC,
    Urgent,
    UrgentAction,
    UrgentItem,
    encode,
    group_topic,
    media_path,
    utcnow,
)

pytestmark = pytest.mark.e2e
FINAL = {"played", "failed", "missed", "skipped", "interrupted", "cancelled"}


@pytest.fixture(params=["mosquitto", "default"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    broker: Mosquitto | None = None
    settings = {"missed_grace_s": "3", "watchdog_interval_s": "0.5"}
    if request.param == "mosquitto":
        broker = Mosquitto(tmp_path / "mosquitto").setup().start()
        running = Server(tmp_path / "server").setup(external_mqtt_url=broker.url, **settings)
    else:
        running = Server(tmp_path / "server").setup(embedded_broker="mosquitto", **settings)
    running.start()
    yield running
    running.stop()
    if broker:
        broker.stop()


def _wavs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.wav"))


def _rows(api: httpx.Client, playback_ids: list[int]) -> list[dict[str, Any]]:
    return [r for r in api.get("/playbacks", params={"limit": 1000}).json()["items"]
            if r["id"] in playback_ids]


def _forge(server: Server, station: dict[str, Any], topic: str, payload: bytes) -> None:
    """Publish as a station (its own login) on a topic only the scheduler may write."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=str(station["id"]),
                         protocol=mqtt.MQTTv311)
    client.username_pw_set(str(station["id"]), station["token"])
    client.connect("127.0.0.1", server.mqtt_port)
    client.loop_start()
    try:
        wait_for(client.is_connected, timeout=10, what="the forger to connect")
        client.publish(topic, payload, qos=1).wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_ward_emergency_reaches_exactly_the_ward_once(server: Server, tmp_path: Path) -> None:
    api = server.api()
    alarm = upload_approved(api, speech_wav(tmp_path / "alarm.wav", text="Cảnh báo lũ quét."),
                            "Cảnh báo lũ quét")
    names = ["ward 1", "ward 2", "away", "joining", "leaving", "other ward", "forger"]
    st = {name: api.post("/stations", json={"name": f"Trạm {name}",
                                            "ward": "P2" if name == "other ward" else "P1"}
                         ).json() for name in names}
    ward = api.post("/groups", json={
        "name": "Phường 1", "kind": "ward",
        "station_ids": [st[n]["id"] for n in ("ward 1", "ward 2", "away", "leaving")]}).json()
    api.post("/groups", json={"name": "Phường 2", "kind": "ward",
                              "station_ids": [st["other ward"]["id"]]}).raise_for_status()
    agents: dict[str, tuple[Proc, Path]] = {}
    for name in ("ward 1", "ward 2", "away", "joining", "leaving", "other ward"):
        agents[name] = start_agent(server, station_id=st[name]["id"], token=st[name]["token"],
                                   workdir=tmp_path / "agents")
    for name in agents:
        wait_for(lambda n=name: api.get(f"/stations/{st[n]['id']}").json()["online"],
                 timeout=30, what=f"station {name} online")
    # every agent has its plan (with its groups) and reads its groups' topics
    for name in agents:
        wait_for(lambda n=name: "member of group" in agents[n][0].output()
                 or n in ("joining",), timeout=15, what=f"{name} to follow its groups")
    time.sleep(6.0)  # settled: the broadcast sends no plan to a station that has just connected
    agents["away"][0].stop()  # its broker session keeps what the ward's topic gets meanwhile
    wait_for(lambda: not api.get(f"/stations/{st['away']['id']}").json()["online"],
             timeout=15, what="the away station offline")

    moved = api.patch(f"/groups/{ward['id']}", json={"station_ids": [
        st[n]["id"] for n in ("ward 1", "ward 2", "away", "joining")]})
    assert moved.status_code == 200, moved.text
    asked = datetime.now(UTC)
    made = api.post("/broadcasts", json={"bulletin_id": alarm["id"], "group_ids": [ward["id"]],
                                         "valid_minutes": 2})
    assert made.status_code == 201, made.text
    sent = made.json()
    members = sorted(st[n]["id"] for n in ("ward 1", "ward 2", "away", "joining"))
    assert sent["station_ids"] == members
    rows = _rows(api, sent["playback_ids"])
    assert sorted(r["station_id"] for r in rows) == members  # one row each, no others

    online = [r["id"] for r in rows if r["station_id"] != st["away"]["id"]]
    for row in wait_status(api, online, FINAL, timeout=30):
        assert row["status"] == "played", row
        # the two that were members all along read the group's topic: at once
        if row["station_id"] in (st["ward 1"]["id"], st["ward 2"]["id"]):
            started = datetime.fromisoformat(str(row["started_at"]))
            assert (started - asked).total_seconds() <= 2.0, row

    # a forged group message (and a forged fleet one) from a station's own login
    now = utcnow()
    forged = encode(Urgent(broadcast_id=sent["id"] + 1000, action=UrgentAction.START,
                           sent_at=now, item=UrgentItem(
                               bulletin_id=alarm["id"], duration_ms=alarm["duration_ms"],
                               sha256=alarm["sha256"], media_path=media_path(alarm["sha256"]),
                               starts_at=now, play_until=now + timedelta(minutes=2))))
    _forge(server, st["forger"], group_topic(ward["id"]), forged)
    _forge(server, st["forger"], FLEET_TOPIC, forged)

    away, away_played = start_agent(server, station_id=st["away"]["id"],
                                    token=st["away"]["token"], workdir=tmp_path / "agents")
    agents["away"] = (away, away_played)
    [late] = [r["id"] for r in rows if r["station_id"] == st["away"]["id"]]
    assert wait_status(api, [late], FINAL, timeout=30)[0]["status"] == "played"
    time.sleep(4.0)  # time enough for a second start, or for the forged message to play

    for name in ("ward 1", "ward 2", "away", "joining"):
        assert len(_wavs(agents[name][1])) == 1, (name, agents[name][0].output()[-3000:])
    for name in ("leaving", "other ward"):
        assert _wavs(agents[name][1]) == [], name
    # the members that were online heard the group's message, the away one from its session
    heard = f"urgent broadcast {sent['id']} on {group_topic(ward['id'])}"
    for name in ("ward 1", "ward 2", "away"):
        assert heard in agents[name][0].output(), name
    assert {r["status"] for r in _rows(api, sent["playback_ids"])} == {"played"}
    # the forged broadcast came to no agent: no event of it reached the ledger either
    for name in agents:
        assert f"urgent broadcast {sent['id'] + 1000}" not in agents[name][0].output(), name
    for proc, _ in agents.values():
        proc.stop()
