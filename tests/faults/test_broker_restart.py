"""A broker restart that a station sits out: nothing it played offline is called `missed`.

A broker that dies publishes no wills, and its retained statuses still say "online" when it
comes back. The scheduler reconnects within seconds; a station whose own link is down at that
moment comes back later (its backoff, or its 3G). Until it is heard again it may be playing
from its plan, so its slots must not be declared missed because the ledger still says it is
online (this was seen in CI: three slots `missed` that the agents had played). A station that
never comes back is marked offline once every agent would have reconnected, so its slots wait
for the offline grace, and the station page does not say "online" for a dead station.

Both on a Mosquitto of its own, killed and started again by the test, and on the default
install, whose supervised Mosquitto is killed and started again by `wardcast serve`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults import stack
from tests.support.audio import speech_wav
from tests.support.procs import Proc, wait_for
from tests.support.proxy import LinkProxy
from tests.support.server import start_agent, upload_approved, wait_status
from wardcast.protocol import RECONNECT_MAX_S, to_wire

pytestmark = pytest.mark.faults

FINAL = {"played", "failed", "missed", "skipped", "interrupted", "cancelled"}
GAP_S = 6
SLOTS = 6


def _with_bulletin(broker: stack.Breakable, tmp_path: Path, text: str
                   ) -> tuple[httpx.Client, dict[str, Any]]:
    """The admin's API client, and an approved bulletin of this text."""
    api = broker.server.api()
    return api, upload_approved(api, speech_wav(tmp_path / "clip.wav", text=text), text)


@dataclass
class Fleet:
    stations: list[dict[str, Any]]
    proxies: list[LinkProxy]  # each station's own link, which the test can cut
    procs: list[Proc]
    played: list[Path]  # what each agent played


def _online_behind_proxies(broker: stack.Breakable, names: tuple[str, ...], tmp_path: Path,
                           cleanup: ExitStack) -> Fleet:
    """Register stations and start each one's agent behind a link of its own; wait until
    every one is online."""
    api = broker.server.api()
    stations = [api.post("/stations", json={"name": name, "ward": "X"}).json()
                for name in names]
    proxies, procs, played = [], [], []
    for st in stations:
        proxy = LinkProxy(broker.port).start()
        proc, folder = start_agent(broker.server, station_id=st["id"], token=st["token"],
                                   workdir=tmp_path / "agents",
                                   mqtt_url=f"mqtt://127.0.0.1:{proxy.port}")
        cleanup.callback(lambda p=proc, x=proxy: (p.stop(), x.stop()))
        proxies.append(proxy)
        procs.append(proc)
        played.append(folder)
    for st in stations:
        wait_for(lambda s=st: api.get(f"/stations/{s['id']}").json()["online"],
                 timeout=30, what=f"{st['name']} online")
    return Fleet(stations, proxies, procs, played)


@pytest.mark.parametrize("install", [stack.production, stack.default_install],
                         ids=["mosquitto", "default"])
def test_a_station_that_reconnects_late_after_a_broker_restart_is_not_missed(
        tmp_path: Path, install: Callable[[Path, ExitStack], stack.Breakable]) -> None:
    with ExitStack() as cleanup:
        broker = install(tmp_path, cleanup)
        api, bulletin = _with_bulletin(broker, tmp_path, "Thông báo ngắn.")
        fleet = _online_behind_proxies(broker, ("Xã nối sớm", "Xã nối muộn", "Xã mất điện"),
                                       tmp_path, cleanup)
        stations, proxies, procs = fleet.stations, fleet.proxies, fleet.procs
        soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=12)
        first = soon + timedelta(seconds=-soon.second % GAP_S)
        seconds = ",".join(str(s) for s in range(0, 60, GAP_S))
        api.post("/timetables", json={
            "bulletin_id": bulletin["id"], "station_ids": [s["id"] for s in stations],
            "starts_at": to_wire(first), "priority": "normal",
            "recurrence": f"FREQ=MINUTELY;BYSECOND={seconds};COUNT={SLOTS}"}
        ).raise_for_status()
        planned = api.get("/playbacks", params={"limit": 100}).json()["items"]
        assert len(planned) == SLOTS * 3
        late, dead = stations[1]["id"], stations[2]["id"]

        time.sleep(max(0.0, (first - datetime.now(UTC)).total_seconds() + 4))
        broker.kill()           # while the first slot is on air; no will goes out
        proxies[1].cut()        # the late station's own link is down too
        procs[2].kill()         # and the third station loses power
        time.sleep(2)
        broker.back()           # the scheduler and the first station are back within seconds
        # the late station stays away for four slots: longer than the missed grace, measured
        # from the scheduler's reconnect
        time.sleep(4 * GAP_S)
        proxies[1].restore()

        rows = wait_status(api, [r["id"] for r in planned if r["station_id"] != dead], FINAL,
                           timeout=SLOTS * GAP_S + 60)
        statuses = Counter((r["station_id"], r["status"]) for r in rows)
        assert all(r["status"] == "played" for r in rows), (
            statuses, [(r["station_id"], r["scheduled_at"], r["status"], r["reason"])
                       for r in rows if r["status"] != "played"])
        assert statuses[(late, "played")] == SLOTS

        # the dead station: shown offline once every agent would have reconnected; its slots
        # after the loss wait for the offline grace instead of being called missed now
        wait_for(lambda: not api.get(f"/stations/{dead}").json()["online"],
                 timeout=RECONNECT_MAX_S + 30, what="the dead station shown offline")
        own = [r for r in api.get("/playbacks", params={"limit": 100}).json()["items"]
               if r["station_id"] == dead]
        assert [r["status"] for r in own if r["status"] == "missed"] == [], own



@pytest.mark.parametrize("install", [stack.production, stack.default_install],
                         ids=["mosquitto", "default"])
def test_a_ward_emergency_sent_while_the_broker_is_down_plays_once_everywhere(
        tmp_path: Path, install: Callable[[Path, ExitStack], stack.Breakable]) -> None:
    """The group message is held by the scheduler's link until the broker is back, and may
    find agents whose sessions the broker lost, or whose own link is still down: each plays
    it once, from the message or from the plan it asks for when it reconnects."""
    with ExitStack() as cleanup:
        broker = install(tmp_path, cleanup)
        api, alarm = _with_bulletin(broker, tmp_path, "Cảnh báo lũ.")
        fleet = _online_behind_proxies(broker, ("Xã nối sớm", "Xã nối muộn"), tmp_path,
                                       cleanup)
        stations, proxies, played = fleet.stations, fleet.proxies, fleet.played
        ward = api.post("/groups", json={"name": "Xã X", "kind": "ward",
                                         "station_ids": [s["id"] for s in stations]}).json()
        time.sleep(6)

        broker.kill()
        proxies[1].cut()  # the late station's own link is down too
        made = api.post("/broadcasts", json={"bulletin_id": alarm["id"],
                                             "group_ids": [ward["id"]], "valid_minutes": 3})
        assert made.status_code == 201, made.text
        ids = made.json()["playback_ids"]
        assert len(ids) == 2
        time.sleep(2)
        broker.back()
        time.sleep(10)
        proxies[1].restore()

        rows = wait_status(api, ids, FINAL, timeout=RECONNECT_MAX_S + 60)
        assert [r["status"] for r in rows] == ["played", "played"], rows
        time.sleep(5)  # time for a second start, were there one
        for folder in played:
            assert len(list(folder.glob("*.wav"))) == 1, folder
