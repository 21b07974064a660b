"""The clock over the API: the time route is stamped as the request comes in and as the answer
leaves, so the time a busy scheduler keeps a request waiting is no part of the agent's round
trip; the station list shows each clock's offset, its uncertainty, and whether it is off."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import anyio
import anyio.to_thread
from fastapi.testclient import TestClient

from agents.fetch import sample
from scheduler.runtime import Runtime
from scheduler.stations.models import Station
from tests.scheduler.conftest import station
from wardcast.protocol import MEDIA_PATH, TIME_PATH, ServerTime, decode

HELD_S = 0.3


def _occupy_the_thread_pool(client: TestClient, release: threading.Event) -> None:
    """Leave the app's thread pool one thread, and keep that busy until release is set."""
    assert client.portal is not None

    async def shrink() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1

    client.portal.call(shrink)
    client.portal.start_task_soon(anyio.to_thread.run_sync, release.wait)


def test_the_answer_brackets_the_wait_for_a_thread(client: TestClient,
                                                   admin: dict[str, str]) -> None:
    token = station(client, admin, "Trạm đồng hồ")["token"]
    release = threading.Event()
    _occupy_the_thread_pool(client, release)
    threading.Timer(HELD_S, release.set).start()  # the token check waits that long for a thread
    try:
        sent = time.time()
        answer = client.get(TIME_PATH, headers={"Authorization": f"Bearer {token}"})
        received = time.time()
    finally:
        release.set()
    assert answer.status_code == 200, answer.text
    assert re.search(r'"receive_time":"[^"]*\.\d{6}Z"', answer.text)  # microseconds
    times = decode(ServerTime, answer.content)
    assert times.receive_time is not None and times.transmit_time is not None
    held = times.transmit_time - times.receive_time
    assert held >= timedelta(seconds=HELD_S * 0.9)
    assert abs(times.server_time - (times.receive_time + held / 2)) <= timedelta(microseconds=1)
    # what the agent makes of it: the wait is not round trip, and the error stays within the
    # uncertainty (the true offset is 0: one machine, one clock)
    measured = sample(times, sent=sent, received=received)
    assert measured.delay < HELD_S / 3
    assert abs(measured.offset) <= measured.uncertainty


def test_only_a_station_may_ask(client: TestClient, admin: dict[str, str]) -> None:
    assert client.get(TIME_PATH).status_code == 401
    assert client.get(TIME_PATH, headers=admin).status_code == 401


def test_the_station_list_shows_the_uncertainty_and_flags_only_a_clock_surely_off(
        client: TestClient, runtime: Runtime, admin: dict[str, str]) -> None:
    readings = {"a": (1500, 600), "b": (-1500, 400), "c": (-1200, None), "d": (None, None)}
    ids = {name: station(client, admin, f"Trạm {name}")["id"] for name in readings}
    with runtime.db.session() as session:
        for name, (offset, uncertainty) in readings.items():
            row = session.get(Station, ids[name])
            assert row is not None
            row.clock_offset_ms, row.clock_uncertainty_ms = offset, uncertainty
    items = {s["id"]: s for s in client.get("/api/v1/stations", headers=admin).json()["items"]}
    shown = {name: (items[ids[name]]["clock_offset_ms"], items[ids[name]]["clock_uncertainty_ms"],
                    items[ids[name]]["clock_off"]) for name in readings}
    assert shown == {"a": (1500, 600, False), "b": (-1500, 400, True), "c": (-1200, None, True),
                     "d": (None, None, False)}
    one = client.get(f"/api/v1/stations/{ids['b']}", headers=admin).json()
    assert (one["clock_uncertainty_ms"], one["clock_off"]) == (400, True)


def test_the_scheduler_serves_the_agent_at_the_protocols_paths(client: TestClient) -> None:
    """The agent's HTTP contract is written once, in wardcast.protocol, for both sides."""
    paths = client.get("/openapi.json").json()["paths"]
    assert TIME_PATH in paths and MEDIA_PATH in paths, sorted(paths)
