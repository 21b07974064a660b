"""One elected planner: the advisory lock itself, and two `wardcast serve` on one PostgreSQL.

The end-to-end test gives the replicas a horizon shorter than the lead time of each timetable,
so the request that creates a timetable plans nothing: its playback can only come from the
leader's roll_horizon job, and its `missed` only from the leader's watchdog (no agent runs).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from scheduler.leader import LOCK_KEY, Leadership
from tests.scheduler.replicas import fresh_postgres, health
from tests.support.mosquitto import Mosquitto
from tests.support.procs import wait_for
from tests.support.server import Server, approve
from wardcast.protocol import to_wire

HORIZON_S = 10.8  # WARDCAST_HORIZON_HOURS=0.003
LEAD_S = 14  # each timetable starts this far ahead: beyond the horizon when it is created
FAST = {"horizon_hours": "0.003", "planner_interval_s": "1", "leader_check_interval_s": "0.5",
        "missed_grace_s": "1", "offline_grace_s": "1", "watchdog_interval_s": "0.5",
        "shared_subscriptions": "true"}


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_postgres() as url:
        yield url


class Changes(list[bool]):
    def __call__(self, leader: bool) -> None:
        self.append(leader)


@pytest.mark.postgres
def test_one_connection_wins_the_lock_and_a_dead_holder_frees_it(pg_url: str) -> None:
    seen_a, seen_b = Changes(), Changes()
    a = Leadership(url=pg_url, replica="a", on_change=seen_a)
    b = Leadership(url=pg_url, replica="b", on_change=seen_b)
    try:
        a.tick()
        b.tick()
        assert (a.is_leader, b.is_leader) == (True, False)
        b.tick()
        a.tick()  # the holder's check passes while its session lives
        assert (a.is_leader, b.is_leader) == (True, False)

        # the holder's connection dies (as when its process is killed)
        engine = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            killed = conn.execute(text(
                "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_database d "
                "ON d.oid = l.database WHERE d.datname = current_database() "
                "AND l.locktype = 'advisory' AND l.objid = :key AND l.granted"),
                {"key": LOCK_KEY}).scalars().all()
        engine.dispose()
        assert killed == [True]
        # the backend exits (and frees the lock) a moment after it is signalled
        wait_for(lambda: _ticked(b), timeout=5, what="the lock to be free")
        a.tick()  # the old holder notices at its next check and steps down
        assert not a.is_leader
        a.tick()
        assert not a.is_leader  # and stays a follower while b holds the lock

        b.release()  # a clean shutdown gives the lock back at once
        a.tick()
        assert a.is_leader
        assert seen_a == [True, False, True]
        assert seen_b == [True]  # a release is a shutdown: no callback
    finally:
        a.release()
        b.release()


def _ticked(node: Leadership) -> bool:
    node.tick()
    return node.is_leader


def test_on_sqlite_the_only_node_leads(tmp_path: Path) -> None:
    seen = Changes()
    node = Leadership(url=f"sqlite:///{tmp_path / 'x.sqlite3'}", replica="main", on_change=seen)
    node.tick()
    node.tick()
    assert node.is_leader
    assert seen == [True]


def _leaders(*servers: Server) -> list[bool]:
    return [bool(health(s).get("leader")) for s in servers]


def _log(server: Server, since: int = 0) -> str:
    assert server.proc is not None
    return server.proc.output()[since:]


def _marked(text_: str) -> int:
    return sum(int(n) for n in re.findall(r"watchdog marked (\d+) playback", text_))


def _timetable(api: httpx.Client, bulletin_id: int, station_id: int) -> datetime:
    """Create a one-off timetable beyond the horizon (the request plans nothing); its slot."""
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=LEAD_S)
    answer = api.post("/timetables", json={"bulletin_id": bulletin_id, "station_ids": [station_id],
                                           "starts_at": to_wire(at), "priority": "normal"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["planned"] == 0
    return at


def _rows(api: httpx.Client) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = api.get("/playbacks", params={"limit": 500}).json()["items"]
    return rows


def _planned_then_missed(api: httpx.Client, slot: datetime) -> None:
    """Wait for the slot's playback to be planned, then declared missed."""
    def status() -> str | None:
        found = [r["status"] for r in _rows(api)
                 if datetime.fromisoformat(r["scheduled_at"]) == slot]
        assert len(found) <= 1, f"slot {slot} planned twice"
        return found[0] if found else None
    wait_for(lambda: status() is not None, timeout=LEAD_S, what="the leader to plan it")
    wait_for(lambda: status() == "missed", timeout=LEAD_S + 10, what="the watchdog to run")


@pytest.mark.postgres
@pytest.mark.e2e
def test_two_replicas_elect_one_planner_and_hand_over_when_it_dies(
        tmp_path: Path, pg_url: str, mosquitto: Mosquitto, speech_mp3: Path) -> None:
    servers = {name: Server(tmp_path / name).setup(
        external_mqtt_url=mosquitto.url, database_url=pg_url, replica_id=name, **FAST)
        for name in ("a", "b")}
    for server in servers.values():
        server.start()
    try:
        wait_for(lambda: sorted(_leaders(*servers.values())) == [False, True], timeout=10,
                 what="exactly one leader")
        leader, follower = sorted(servers.values(), key=lambda s: not health(s)["leader"])
        api = follower.api()
        with speech_mp3.open("rb") as handle:
            bulletin = api.post("/bulletins", files={"file": (speech_mp3.name, handle)},
                                data={"title": "Thông báo", "language": "vi"}).json()
        approve(api, bulletin["id"])
        station = api.post("/stations", json={"name": "Trạm 1", "ward": "Phường 1"}).json()

        # 1. created through the follower, planned and watched by the leader
        _planned_then_missed(api, _timetable(api, bulletin["id"], station["id"]))
        assert "planned new playbacks" in _log(leader)
        assert _marked(_log(leader)) == 1
        assert "planned new playbacks" not in _log(follower)
        assert _marked(_log(follower)) == 0

        # 2. the leader dies: the follower takes over within a few seconds and plans
        leader.kill()
        killed_at = time.monotonic()
        wait_for(lambda: _leaders(follower) == [True], timeout=10, what="the take-over")
        took_over_s = time.monotonic() - killed_at
        _planned_then_missed(api, _timetable(api, bulletin["id"], station["id"]))
        assert _marked(_log(follower)) == 1

        # 3. the old leader comes back as a follower and stays one
        offset = len(_log(leader))
        leader.start()
        for _ in range(6):  # a few of its election ticks (0.5 s each)
            assert _leaders(leader, follower) == [False, True]
            time.sleep(0.5)
        _planned_then_missed(api, _timetable(api, bulletin["id"], station["id"]))
        restarted = _log(leader, offset)
        assert "planned new playbacks" not in restarted and _marked(restarted) == 0
        assert _marked(_log(follower)) == 2

        # no slot planned twice, every one marked missed exactly once
        rows = _rows(api)
        assert len(rows) == 3
        assert len({r["scheduled_at"] for r in rows}) == 3
        assert [r["status"] for r in rows] == ["missed"] * 3
        assert _marked(_log(leader)) + _marked(_log(follower)) == 3
        print(f"take-over after SIGKILL: {took_over_s:.1f} s")  # noqa: T201
    finally:
        for server in servers.values():
            server.stop()
