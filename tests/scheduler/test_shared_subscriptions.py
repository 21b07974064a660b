"""Two replicas ingest through `$share/wardcast/...` on a real Mosquitto: each event lands once.

Without the shared subscription both replicas would receive every event, and one of them would
count it as a duplicate; with it the broker hands each event to one replica only.
"""

from __future__ import annotations

import queue
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from scheduler.dispatch.client import BrokerLogin, SchedulerLink
from scheduler.playbacks.models import PlaybackEvent
from tests.scheduler.replicas import fresh_postgres, health
from tests.support.mosquitto import Mosquitto
from tests.support.procs import Proc, wait_for
from tests.support.server import Server, approve, start_agent, wait_status
from wardcast.protocol import scheduler_client_id, scheduler_subscriptions, to_wire


def test_a_replica_subscribes_shared_with_its_own_client_id_and_no_session() -> None:
    login = BrokerLogin("127.0.0.1", 1883, None, None, shared=True,
                        client_id=scheduler_client_id("b"))
    link = SchedulerLink(login, queue.Queue(), extra_subscriptions=["$CONTROL/x/response"])
    assert link.topics == [f"$share/wardcast/{t}" for t in scheduler_subscriptions()] + [
        "$CONTROL/x/response"]
    assert link.client._client_id == b"wardcast-scheduler-b"
    assert link.client._clean_session is True
    single = SchedulerLink(BrokerLogin("127.0.0.1", 1883, None, None), queue.Queue())
    assert single.topics == scheduler_subscriptions()
    assert single.client._client_id == b"wardcast-scheduler"
    assert single.client._clean_session is False


def _online(api: httpx.Client, station_id: int) -> bool:
    return bool(api.get(f"/stations/{station_id}").json()["online"])


def _stored_events(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(PlaybackEvent)) or 0)
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.e2e
def test_agent_events_land_once_and_both_replicas_take_part(
        tmp_path: Path, mosquitto: Mosquitto, speech_mp3: Path) -> None:
    agents: list[Proc] = []
    with fresh_postgres() as url:
        a, b = (Server(tmp_path / name).setup(
            external_mqtt_url=mosquitto.url, database_url=url, replica_id=name,
            shared_subscriptions="true") for name in ("a", "b"))
        a.start()
        b.start()
        try:
            api_a, api_b = a.api(), b.api()
            # media stays on the disk of the replica that took the upload (no S3 here), so
            # the agents download from a; their MQTT traffic is what is shared
            with speech_mp3.open("rb") as handle:
                bulletin = api_a.post("/bulletins", files={"file": (speech_mp3.name, handle)},
                                      data={"title": "Thông báo", "language": "vi"}).json()
            approve(api_b, bulletin["id"])
            stations = [api_b.post("/stations", json={"name": f"Trạm {n}", "ward": "Phường 1"}
                                   ).json() for n in (1, 2)]
            for station in stations:
                proc, _played = start_agent(a, station_id=station["id"], token=station["token"],
                                            workdir=tmp_path / "agents",
                                            mqtt_url=mosquitto.plain_url)
                agents.append(proc)
            wait_for(lambda: all(_online(api_b, s["id"]) for s in stations), timeout=30,
                     what="both stations to come online")

            at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
            answer = api_b.post("/timetables", json={
                "bulletin_id": bulletin["id"], "station_ids": [s["id"] for s in stations],
                "starts_at": to_wire(at), "priority": "normal"})
            assert answer.status_code == 201, answer.text
            ids = [r["id"] for r in api_a.get("/playbacks").json()["items"]]
            assert len(ids) == 2
            wait_status(api_a, ids, {"played"}, timeout=60)

            # accepted, downloaded, started, finished from each of the two agents
            def ingested() -> tuple[int, int, int]:
                counts = [health(s)["ingested"] for s in (a, b)]
                return (counts[0]["events"], counts[1]["events"],
                        counts[0]["duplicates"] + counts[1]["duplicates"])
            stored = _stored_events(url)
            assert stored >= 8
            wait_for(lambda: sum(ingested()[:2]) == stored, timeout=10,
                     what="both replicas' counters to settle")
            on_a, on_b, duplicates = ingested()
            assert duplicates == 0, "an event reached both replicas"
            assert on_a > 0 and on_b > 0, f"one replica took everything: a={on_a}, b={on_b}"
        finally:
            for agent in agents:
                agent.stop()
            a.stop()
            b.stop()
