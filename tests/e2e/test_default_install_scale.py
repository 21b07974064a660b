"""The default install (`wardcast serve`: its own broker, SQLite) delivers every plan of an
emergency to hundreds of stations while hundreds more are logging in, with no broker error.

amqtt 0.12 walked its subscriptions for each message and awaited inside the walk: a station
subscribing meanwhile raised "dictionary changed size during iteration" and the message was
lost, hidden only by the agents' sync on a later reconnect. So here nothing may be hidden that
way: the broadcast's stations make no new connection (no sync could have brought the plan),
each one receives it, and each one starts it.

Real processes: `wardcast serve` and two `wardcast simulate` fleets. The benchmark at 2,000
stations is `python -m bench.fanout --install default` (docs/benchmarks.md).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from simulate.stats import Counts, last_counts
from tests.support.audio import speech_wav
from tests.support.procs import Proc, wait_for
from tests.support.server import ADMIN, Server, upload_approved, wardcast

pytestmark = pytest.mark.e2e

FLEET = 300  # stations that get the broadcast
JOINING = 300  # stations logging in while it goes out
BROKER_TROUBLE = ("Traceback", "dictionary changed size", "not broadcasted",
                  "Task exception was never retrieved")


def _simulate(server: Server, work: Path, prefix: str, stations: int) -> Proc:
    return Proc(wardcast("simulate", "--server", server.base, "--stations", str(stations),
                         "--username", ADMIN[0], "--password", ADMIN[1],
                         "--mqtt", server.mqtt_url, "--prefix", prefix,
                         "--state-dir", str(work / f"sim-{prefix}"), "--summary", "1"),
                log=work / f"simulate-{prefix}.log").start()


def _counts(sim: Proc) -> Counts:
    """(stations connected, connections made, plans, urgent messages received) from the
    latest summary."""
    return last_counts(sim.output()) or Counts()


def _started(api: httpx.Client, bulletin_id: int) -> int:
    total = 0
    for status in ("playing", "played", "interrupted"):
        total += int(api.get("/playbacks", params={"bulletin_id": bulletin_id,
                                                   "status": status, "limit": 1}
                             ).json()["total"])
    return total


@pytest.mark.parametrize("broker", ["mosquitto", "amqtt"])
def test_an_emergency_reaches_every_station_while_others_log_in(
        tmp_path: Path, broker: str) -> None:
    server = Server(tmp_path / "server").setup(embedded_broker=broker,
                                               missed_grace_s="60").start()
    try:
        api = server.api()
        alarm = upload_approved(api, speech_wav(tmp_path / "alarm.wav",
                                                text="Cảnh báo lũ quét, di chuyển ngay."),
                                "Cảnh báo lũ quét")
        fleet = _simulate(server, tmp_path, "FLEET", FLEET)
        wait_for(lambda: _counts(fleet).connected == FLEET and _counts(fleet).plans >= FLEET,
                 timeout=240, what=f"{FLEET} stations connected with their plans")
        ids = sorted(int(r["id"]) for r in api.get("/stations", params={"limit": 1000}
                                                   ).json()["items"]
                     if str(r["name"]).startswith("FLEET-"))
        assert len(ids) == FLEET
        settled = _counts(fleet)
        connects, plans = settled.connects, settled.plans
        joining = _simulate(server, tmp_path, "JOIN", JOINING)
        wait_for(lambda: _counts(joining).connected > 0, timeout=240,
                 what="the second fleet to start logging in")
        made = api.post("/broadcasts", json={"bulletin_id": alarm["id"], "station_ids": ids,
                                             "priority": "emergency", "valid_minutes": 30})
        assert made.status_code == 201, made.text
        wait_for(lambda: _started(api, alarm["id"]) == FLEET, timeout=180,
                 what="every station of the fleet to start the emergency")
        wait_for(lambda: _counts(joining).connected == JOINING, timeout=240,
                 what="the second fleet connected")
        # every one was sent the broadcast's plan (the summary comes once a second) ...
        wait_for(lambda: _counts(fleet).plans >= plans + FLEET, timeout=30,
                 what="the fleet's summary to count the broadcast's plans")
        # ... and no station reconnected (and synced) to get it
        assert (_counts(fleet).connected, _counts(fleet).connects) == (FLEET, connects)
        output = server.proc.output() if server.proc else ""
        trouble = [line for line in output.splitlines()
                   if " ERROR " in line or any(t in line for t in BROKER_TROUBLE)]
        assert not trouble, "\n".join(trouble[:20])
        assert "transitions.core" not in output and "amqtt.broker: Listener" not in output
        assert server.healthy()
    finally:
        server.stop()
