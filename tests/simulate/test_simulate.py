"""The simulator: its in-memory store against the agent's SQLite store, and `wardcast simulate`
as a process against a real scheduler and Mosquitto."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from agents.store import SqliteStore
from simulate.cli import quiet_stations
from simulate.store import MemoryStore
from tests.support.mosquitto import Mosquitto
from tests.support.procs import Proc, wait_for
from tests.support.server import ADMIN, Server, upload_approved, wait_status, wardcast
from wardcast.cli import configure_logging
from wardcast.protocol import Event, EventType, PlanItem, encode, to_wire

STATIONS = 20
ON_TIME_MS = 250


@pytest.fixture
def server(mosquitto: Mosquitto, tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "server").setup(external_mqtt_url=mosquitto.url,
                                                missed_grace_s="5",
                                                watchdog_interval_s="0.5").start()
    yield running
    running.stop()


def _simulate(server: Server, mosquitto: Mosquitto, state: Path, log: Path) -> Proc:
    return Proc(wardcast("simulate", "--server", server.base, "--stations", str(STATIONS),
                         "--username", ADMIN[0], "--password", ADMIN[1],
                         "--mqtt", mosquitto.plain_url, "--prefix", "SIMTEST",
                         "--state-dir", str(state), "--summary", "1"), log=log).start()


def _logins(state: Path) -> dict[int, str]:
    """Wait for the simulator's credentials file; return {station id: token}."""
    path = state / "credentials.json"
    wait_for(path.exists, timeout=60, what="the simulator to register its stations")
    return {c["station_id"]: c["token"] for c in json.loads(path.read_text())}


T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
STORES: dict[str, Callable[[Path], SqliteStore | MemoryStore]] = {
    "sqlite": lambda tmp: SqliteStore(tmp / "agent.sqlite3"),
    "memory": lambda tmp: MemoryStore(),
}


def _item(playback_id: int, minutes: int = 0) -> PlanItem:
    return PlanItem(playback_id=playback_id, bulletin_id=1, duration_ms=1000,
                    scheduled_at=T0 + timedelta(minutes=minutes), sha256="a" * 64,
                    media_path="/m/a.opus")


def _event(n: int) -> tuple[Event, bytes]:
    made = Event(event_id=f"event-{n:04d}", playback_id=n, type=EventType.STARTED, at=T0)
    return made, encode(made)


@pytest.mark.parametrize("kind", sorted(STORES))
def test_the_memory_store_keeps_the_plan_like_the_agents_store(kind: str, tmp_path: Path
                                                               ) -> None:
    store = STORES[kind](tmp_path)
    assert [i.playback_id for i in store.replace_plan([_item(1, 5), _item(2, 1)])] == [1, 2]
    assert [i.playback_id for i in store.replace_plan([_item(2, 1), _item(3, 9)])] == [3]
    assert [i.playback_id for i in store.pending()] == [2, 3]
    store.mark_started(2)
    store.mark_final(2, "finished")
    assert store.replace_plan([_item(2, 1), _item(3, 9)]) == []  # played: never again
    assert [i.playback_id for i in store.pending()] == [3] and not store.is_pending(2)
    assert store.final_state(2) == "finished"
    assert store.mark_downloaded(3) and not store.mark_downloaded(3)
    assert store.is_downloaded(3)
    assert store.begin_command("c1", "volume") and not store.begin_command("c1", "volume")
    assert store.unanswered_commands() == ["c1"]
    store.finish_command("c1", b"done")
    assert store.command_result("c1") == b"done" and store.unanswered_commands() == []
    store.set_setting("volume_percent", "80")
    assert store.setting("volume_percent") == "80"


@pytest.mark.parametrize("kind", sorted(STORES))
def test_the_memory_outbox_keeps_events_until_confirmed(kind: str, tmp_path: Path) -> None:
    store = STORES[kind](tmp_path)
    for n in (1, 2, 3):
        with store.transaction():
            store.add_event(*_event(n))
    store.add_event(*_event(1))  # the same event again changes nothing
    assert [e for e, _ in store.unconfirmed()] == ["event-0001", "event-0002", "event-0003"]
    store.mark_published("event-0002")
    assert store.published_before(T0) == []
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert [e for e, _ in store.published_before(later)] == ["event-0002"]
    assert store.confirm(["event-0002", "never-sent"]) == 1
    assert store.unconfirmed_count() == 2


@pytest.mark.e2e
def test_simulated_stations_play_a_shared_slot_on_time_and_are_reused(
        server: Server, mosquitto: Mosquitto, tmp_path: Path, speech: Path) -> None:
    api = server.api()
    bulletin = upload_approved(api, speech, "Thông báo chung")
    state = tmp_path / "sim"
    first = _simulate(server, mosquitto, state, tmp_path / "sim-1.log")
    try:
        logins = _logins(state)
        assert len(logins) == STATIONS
        # The slot is set before the stations are even connected: connecting, the plan and
        # the (shared) download all have to fit in these 20 s.
        slot = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
        made = api.post("/timetables", json={"bulletin_id": bulletin["id"],
                                             "station_ids": sorted(logins),
                                             "starts_at": to_wire(slot)})
        assert made.status_code == 201, made.text
        ids = [r["id"] for r in api.get("/playbacks", params={"limit": 100}).json()["items"]]
        assert len(ids) == STATIONS
        rows = wait_status(api, ids, {"played", "failed", "missed", "skipped"}, timeout=90)
        assert {r["status"] for r in rows} == {"played"}, rows
        assert {r["station_id"] for r in rows} == set(logins)
        for row in rows:
            started = datetime.fromisoformat(str(row["started_at"]))
            assert abs((started - slot).total_seconds()) * 1000 <= ON_TIME_MS, row
        wait_for(lambda: f"started={STATIONS}" in first.output(), timeout=15,
                 what="the simulator's summary to count the starts")
    finally:
        first.stop()
    assert first.popen is not None and first.popen.returncode == 0, first.output()[-3000:]
    summary = first.output().strip().splitlines()[-1]
    assert f"finished={STATIONS}" in summary and "media downloads 1;" in summary, summary

    second = _simulate(server, mosquitto, tmp_path / "sim-again", tmp_path / "sim-2.log")
    try:
        again = _logins(tmp_path / "sim-again")
        assert set(again) == set(logins)  # the same stations …
        assert all(again[sid] != logins[sid] for sid in logins)  # … with new tokens
        wait_for(lambda: f"all {STATIONS} station(s) connected" in second.output(),
                 timeout=60, what="every reused station to log in with its new token")
        assert f"0 station(s) registered, {STATIONS} reused" in second.output()
        old = httpx.get(f"{server.base}/api/v1/agent/time",
                        headers={"Authorization": f"Bearer {logins[min(logins)]}"})
        assert old.status_code == 401
        assert api.get("/stations").json()["total"] == STATIONS
    finally:
        second.stop()
    assert second.popen is not None and second.popen.returncode == 0


def test_the_stations_log_only_warnings_though_wardcast_logs_ours_at_info() -> None:
    agents, ours = logging.getLogger("agents"), logging.getLogger("simulate")
    saved = agents.level, ours.level, logging.getLogger().level
    try:
        configure_logging("INFO")  # as `wardcast simulate` starts
        quiet_stations()
        assert not agents.isEnabledFor(logging.INFO)
        assert agents.isEnabledFor(logging.WARNING)
        assert ours.isEnabledFor(logging.INFO)  # the simulator's own summary still shows
    finally:
        agents.setLevel(saved[0])
        ours.setLevel(saved[1])
        logging.getLogger().setLevel(saved[2])
