"""Timetable edits and deletions reach a running agent within seconds, with real processes.

A real `wardcast serve` (embedded broker) and one real `wardcast agent` writing what it plays
to WAV files: a deleted slot is never played, a moved slot plays only at its new time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.procs import Proc, wait_for
from tests.support.server import Server, start_agent, upload_approved, wait_status
from wardcast.protocol import to_wire

pytestmark = pytest.mark.e2e
FINAL = {"played", "failed", "missed", "skipped", "interrupted", "cancelled"}
TOLERANCE = timedelta(milliseconds=250)
LEAD = timedelta(seconds=9)  # a slot this far ahead: the agent has it long before it changes
AFTER = 2.0  # seconds past a slot by which anything it played is on disk


@dataclass
class Setup:
    """A running scheduler, one online agent with file output and an approved bulletin."""

    api: httpx.Client
    station_id: int
    played: Path
    bulletin: dict[str, object]
    server: Server
    token: str
    workdir: Path
    agent: Proc


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, speech: Path) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("timetable-changes")
    server = Server(root / "server").setup(missed_grace_s="3",
                                           watchdog_interval_s="0.5").start()
    api = server.api()
    bulletin = upload_approved(api, speech, "Thông báo đổi lịch")
    station = api.post("/stations", json={"name": "Trạm đổi lịch", "ward": "P1"}).json()
    agent, played = start_agent(server, station_id=station["id"], token=station["token"],
                                workdir=root / "agents")
    wait_for(lambda: bool(api.get(f"/stations/{station['id']}").json()["online"]),
             timeout=30, what="the agent to come online")
    s = Setup(api=api, station_id=int(station["id"]), played=played, bulletin=bulletin,
              server=server, token=str(station["token"]), workdir=root / "agents",
              agent=agent)
    yield s
    s.agent.stop()
    server.stop()


def _slot() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + LEAD


def _timetable(s: Setup, at: datetime) -> int:
    answer = s.api.post("/timetables", json={"bulletin_id": s.bulletin["id"],
                                             "station_ids": [s.station_id],
                                             "starts_at": to_wire(at), "priority": "normal"})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _rows(s: Setup, timetable_id: int) -> list[dict[str, object]]:
    items: list[dict[str, object]] = s.api.get(
        "/playbacks", params={"station_id": s.station_id, "limit": 1000}).json()["items"]
    return sorted((r for r in items if r["timetable_id"] == timetable_id),
                  key=lambda r: int(str(r["id"])))


def _wavs(s: Setup, playback_id: object) -> list[Path]:
    return sorted(s.played.glob(f"pb{playback_id}_*.wav"))


def _sleep_until(at: datetime) -> None:
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()))


def test_a_deleted_timetable_is_not_played(setup: Setup) -> None:
    s = setup
    slot = _slot()
    timetable_id = _timetable(s, slot)
    [row] = _rows(s, timetable_id)
    assert row["status"] != "cancelled", row
    _sleep_until(slot - timedelta(seconds=3))
    assert s.api.delete(f"/timetables/{timetable_id}").status_code == 204
    [row] = _rows(s, timetable_id)
    assert row["status"] == "cancelled", row
    _sleep_until(slot + timedelta(seconds=AFTER))
    [row] = _rows(s, timetable_id)
    assert row["status"] == "cancelled" and row["started_at"] is None, row
    assert not _wavs(s, row["id"]), "the agent played a deleted timetable"


def test_a_moved_timetable_plays_only_at_its_new_time(setup: Setup) -> None:
    s = setup
    before = set(s.played.glob("*.wav"))
    old_slot = _slot()
    new_slot = old_slot + timedelta(seconds=4)
    timetable_id = _timetable(s, old_slot)
    [old] = _rows(s, timetable_id)
    _sleep_until(old_slot - timedelta(seconds=3))
    answer = s.api.patch(f"/timetables/{timetable_id}", json={"starts_at": to_wire(new_slot)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["starts_at"] is not None
    rows = _rows(s, timetable_id)
    assert len(rows) == 2, rows
    assert {datetime.fromisoformat(str(r["scheduled_at"])) for r in rows} == {old_slot,
                                                                             new_slot}, rows
    [new] = [r for r in rows if r["id"] != old["id"]]
    old_id, new_id = int(str(old["id"])), int(str(new["id"]))
    done = {int(str(r["id"])): r
            for r in wait_status(s.api, [old_id, new_id], FINAL, timeout=30)}
    old, new = done[old_id], done[new_id]
    assert old["status"] == "cancelled" and old["started_at"] is None, old
    assert new["status"] == "played", new
    scheduled = datetime.fromisoformat(str(new["scheduled_at"]))
    assert scheduled == new_slot, new
    assert abs(datetime.fromisoformat(str(new["started_at"])) - scheduled) <= TOLERANCE, new
    _sleep_until(new_slot + timedelta(seconds=AFTER))
    assert not _wavs(s, old["id"]), "the agent played the old slot"
    assert len(_wavs(s, new["id"])) == 1, _wavs(s, new["id"])
    added = sorted(set(s.played.glob("*.wav")) - before)
    assert added == _wavs(s, new["id"]), added


def _online(s: Setup) -> bool:
    return bool(s.api.get(f"/stations/{s.station_id}").json()["online"])


def test_an_agent_offline_during_a_deletion_drops_the_slot_when_it_returns(
        setup: Setup) -> None:
    s = setup
    slot = _slot() + timedelta(seconds=6)
    timetable_id = _timetable(s, slot)
    [row] = _rows(s, timetable_id)
    wait_for(lambda: _rows(s, timetable_id)[0]["status"] != "planned", timeout=10,
             what="the agent to accept the slot")  # it holds the slot in its own plan
    s.agent.stop()  # SIGTERM: it says offline and exits, its plan kept on disk
    wait_for(lambda: not _online(s), timeout=15, what="the station to be offline")
    assert s.api.delete(f"/timetables/{timetable_id}").status_code == 204
    s.agent, _ = start_agent(s.server, station_id=s.station_id, token=s.token,
                             workdir=s.workdir)
    wait_for(lambda: _online(s), timeout=30, what="the agent to come back")
    _sleep_until(slot + timedelta(seconds=AFTER))
    [row] = _rows(s, timetable_id)
    assert row["status"] == "cancelled" and row["started_at"] is None, row
    assert not _wavs(s, row["id"]), "the agent played a slot deleted while it was offline"
