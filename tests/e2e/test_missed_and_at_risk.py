"""What was missed, and what is about to be, with a real scheduler and real agents.

A station whose agent never connected cannot hold its plan: its slot is `missed` at the
missed grace, not after the 6-hour offline grace. An agent stopped over its slot and started
again after it reports the slot skipped as `late`: the slot did not go out on air, so the
ledger says `missed`, with the agent's reason. Before a slot, a station that lacks the plan
or the audio shows up as at risk.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.procs import Proc, free_port, wait_for
from tests.support.server import Server, start_agent, upload_approved, wait_status, wardcast
from wardcast.protocol import to_wire

pytestmark = pytest.mark.e2e
FINAL = {"played", "failed", "missed", "skipped", "interrupted", "cancelled"}


@pytest.fixture
def roomy_server(tmp_path: Path) -> Iterator[Server]:
    """A scheduler with a 5 s missed grace: room, on a busy machine, for a restarted agent's
    reports to land before the watchdog may decide on them."""
    running = Server(tmp_path / "server").setup(missed_grace_s="5",
                                                watchdog_interval_s="0.5").start()
    yield running
    running.stop()


def _station(api: httpx.Client, name: str) -> dict[str, Any]:
    answer = api.post("/stations", json={"name": name, "ward": "Phường Tân Lợi"})
    assert answer.status_code == 201, answer.text
    station: dict[str, Any] = answer.json()
    return station


def _plan(api: httpx.Client, bulletin_id: int, station_ids: list[int], slot: datetime
          ) -> list[dict[str, Any]]:
    """Put one slot on these stations; return its playbacks."""
    answer = api.post("/timetables", json={"bulletin_id": bulletin_id, "station_ids": station_ids,
                                           "starts_at": to_wire(slot)})
    assert answer.status_code == 201, answer.text
    rows = [r for r in api.get("/playbacks", params={"limit": 1000}).json()["items"]
            if r["station_id"] in station_ids and r["bulletin_id"] == bulletin_id]
    assert len(rows) == len(station_ids), rows
    return rows


def _online(api: httpx.Client, station_id: int) -> bool:
    return bool(api.get(f"/stations/{station_id}").json()["online"])


def _sleep_until(at: datetime) -> None:
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()))


def test_a_never_connected_station_is_missed_at_the_grace_with_its_reason(
        server: Server, speech: Path) -> None:
    # the `server` fixture: missed grace 3 s, watchdog every 0.5 s, offline grace 6 hours
    api = server.api()
    bulletin = upload_approved(api, speech, "Thông báo tiêm chủng")
    station = _station(api, "Trạm chưa bao giờ kết nối")
    slot = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    [row] = _plan(api, int(bulletin["id"]), [station["id"]], slot)
    assert row["status"] == "planned"
    [done] = wait_status(api, [int(row["id"])], FINAL, timeout=30)
    assert done["status"] == "missed", done
    assert done["reason"] == ("plan_not_delivered: the plan never reached the station; "
                              "never connected")
    missed = api.get("/playbacks", params={"status": "missed", "station_id": station["id"]})
    assert [r["id"] for r in missed.json()["items"]] == [row["id"]]


def test_an_agent_stopped_over_its_slot_and_restarted_leaves_it_missed(
        roomy_server: Server, tmp_path: Path, speech: Path) -> None:
    server = roomy_server
    api = server.api()
    bulletin = upload_approved(api, speech, "Bản tin sáng")
    station = _station(api, "Trạm mất điện")
    agent, played = start_agent(server, station_id=station["id"], token=station["token"],
                                workdir=tmp_path / "agents")
    wait_for(lambda: _online(api, station["id"]), timeout=30, what="the agent to be online")
    # room for the download before the slot on a busy machine
    slot = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=10)
    [row] = _plan(api, int(bulletin["id"]), [station["id"]], slot)
    playback_id = int(row["id"])
    wait_status(api, [playback_id], {"ready"}, timeout=30)  # it holds the plan and the audio
    agent.kill()  # SIGKILL: the power went off
    wait_for(lambda: not _online(api, station["id"]), timeout=15, what="the agent offline")
    # past the slot and the agent's 5 s late grace: the item can no longer start
    _sleep_until(slot + timedelta(seconds=7))
    agent, played = start_agent(server, station_id=station["id"], token=station["token"],
                                workdir=tmp_path / "agents")
    [done] = wait_status(api, [playback_id], FINAL, timeout=30)
    assert (done["status"], done["reason"]) == ("missed", "late"), done
    events = api.get(f"/playbacks/{playback_id}/events").json()["items"]
    assert [(e["type"], e["reason"]) for e in events][-1] == ("skipped", "late")
    assert not list(played.glob("*.wav"))
    missed = api.get("/playbacks", params={"status": "missed"}).json()["items"]
    assert [r["id"] for r in missed] == [playback_id]
    agent.stop()


def test_slots_whose_station_lacks_the_plan_or_the_audio_are_at_risk_before_their_time(
        server: Server, tmp_path: Path, speech: Path) -> None:
    api = server.api()
    bulletin = upload_approved(api, speech, "Thông báo phòng cháy")
    nobody = _station(api, "Trạm không có máy")
    cut_off = _station(api, "Trạm không tải được")
    # an agent that gets its plan over MQTT but cannot reach the scheduler over HTTP (its
    # media downloads fail): it has the plan, not the audio
    unreachable = f"http://127.0.0.1:{free_port()}"
    agent = Proc(wardcast("agent", "--server", unreachable, "--station", str(cut_off["id"]),
                          "--token", cut_off["token"], "--mqtt", server.mqtt_url,
                          "--output", f"file:{tmp_path / 'played'}",
                          "--state-dir", str(tmp_path / "state")),
                 log=tmp_path / "agent.log").start()
    wait_for(lambda: _online(api, cut_off["id"]), timeout=30, what="the agent to be online")
    slot = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=60)
    rows = _plan(api, int(bulletin["id"]), [nobody["id"], cut_off["id"]], slot)
    by_station = {r["station_id"]: int(r["id"]) for r in rows}
    wait_status(api, [by_station[cut_off["id"]]], {"delivered"}, timeout=15)

    at_risk = api.get("/playbacks", params={"at_risk": "true"}).json()
    stations = {s["id"]: s["at_risk"] for s in api.get("/stations").json()["items"]}
    assert datetime.now(UTC) < slot, "the test machine was too slow to look before the slot"
    assert {(r["station_id"], r["status"]) for r in at_risk["items"]} == {
        (nobody["id"], "planned"), (cut_off["id"], "delivered")}
    assert at_risk["total"] == 2
    assert stations == {nobody["id"]: 1, cut_off["id"]: 1}
    only = api.get("/playbacks", params={"at_risk": "true", "station_id": cut_off["id"]})
    assert [r["id"] for r in only.json()["items"]] == [by_station[cut_off["id"]]]
    agent.stop()
