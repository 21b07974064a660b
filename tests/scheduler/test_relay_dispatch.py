"""Relays go out only to agents that play them, with the stream's address, login and filler;
a station whose agent cannot relay gets nothing and the ledger says why; events close relays
with their real span."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scheduler.config import Settings
from scheduler.dispatch.plans import build_plan
from scheduler.playbacks import ledger
from scheduler.playbacks import service as playbacks
from scheduler.runtime import Runtime
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.web import reasons as words
from tests.scheduler.conftest import approved_bulletin, station
from tests.scheduler.streams_support import added, dead_url, quick
from wardcast.protocol import FEATURE_GROUPS, FEATURE_RELAY, Event, EventType, to_wire


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return quick(settings)


def _setup(client: TestClient, admin: dict[str, str], speech_mp3: Path) -> dict[str, Any]:
    filler = approved_bulletin(client, admin, speech_mp3)
    url = dead_url()
    stream = added(client, admin, name="VOV1", url=url, username="phường 12",
                   password="mật@khẩu:1", filler_bulletin_id=filler, allow_unreachable=True)
    able, unable = station(client, admin, "Trạm mới"), station(client, admin, "Trạm cũ")
    start = (datetime.now(UTC) + timedelta(minutes=20)).replace(microsecond=0)
    created = client.post("/api/v1/timetables", headers=admin, json={
        "stream_id": stream["id"], "duration_s": 1800, "starts_at": to_wire(start),
        "station_ids": [able["id"], unable["id"]]})
    assert created.status_code == 201, created.text
    sha = client.get(f"/api/v1/bulletins/{filler}", headers=admin).json()["sha256"]
    return {"able": able["id"], "unable": unable["id"], "start": start, "url": url,
            "filler": sha, "stream": stream["id"]}


def _plan(runtime: Runtime, station_id: int, now: datetime) -> Any:
    with runtime.db.session() as session:
        found = session.get(Station, station_id)
        assert found is not None
        return build_plan(session=session, station=found, now=now, late_grace=timedelta(0),
                          horizon=timedelta(hours=1))


def test_a_relay_goes_only_to_agents_that_play_relays(client: TestClient, runtime: Runtime,
                                                      admin: dict[str, str],
                                                      speech_mp3: Path) -> None:
    got = _setup(client, admin, speech_mp3)
    with runtime.db.session() as session:
        stations.record_features(session=session, features={
            got["able"]: [FEATURE_GROUPS, FEATURE_RELAY], got["unable"]: [FEATURE_GROUPS]})
    now = datetime.now(UTC)
    [item] = _plan(runtime, got["able"], now).items
    assert item.relay is not None and item.bulletin_id is None and item.sha256 is None
    host = got["url"].removeprefix("http://")
    assert item.relay.url == f"http://ph%C6%B0%E1%BB%9Dng%2012:m%E1%BA%ADt%40kh%E1%BA%A9u%3A1@{host}"
    assert item.relay.filler is not None and item.relay.filler.sha256 == got["filler"]
    assert item.relay.filler.media_path == f"/api/v1/media/{got['filler']}"
    assert (item.title, item.duration_ms, item.scheduled_at) == ("VOV1", 1_800_000, got["start"])
    assert _plan(runtime, got["unable"], now).items == []
    with runtime.db.session() as session:  # the filler is the relaying station's to fetch
        assert playbacks.needs_media(session=session, station_id=got["able"],
                                     sha256=got["filler"], now=now)


def test_the_ledger_says_why_a_station_did_not_relay(client: TestClient, runtime: Runtime,
                                                     admin: dict[str, str],
                                                     speech_mp3: Path) -> None:
    got = _setup(client, admin, speech_mp3)
    with runtime.db.session() as session:
        stations.record_features(session=session, features={got["unable"]: [FEATURE_GROUPS],
                                                             got["able"]: [FEATURE_RELAY]})
        for sid in (got["unable"], got["able"]):
            found = session.get(Station, sid)
            assert found is not None
            found.last_seen_at, found.online = datetime.now(UTC), True
    before = got["start"] - timedelta(minutes=5)
    with runtime.db.session() as session:
        assert ledger.watchdog(session=session, now=before, grace=timedelta(seconds=60),
                               offline_grace=timedelta(hours=1)) == 0
    after = got["start"] + timedelta(minutes=2)
    with runtime.db.session() as session:
        ledger.watchdog(session=session, now=after, grace=timedelta(seconds=60),
                        offline_grace=timedelta(hours=1))
    rows = {r["station_id"]: r for r in client.get(
        "/api/v1/playbacks", headers=admin).json()["items"]}
    assert rows[got["unable"]]["status"] == "failed"
    assert rows[got["unable"]]["reason"].startswith("agent_cannot_relay: ")
    assert not rows[got["able"]]["reason"].startswith("agent_cannot_relay")
    assert words.label(rows[got["unable"]]["reason"], zone="UTC", lang="vi") == (
        "Phần mềm ở trạm chưa tiếp âm được: hãy cập nhật")


def test_events_close_a_relay_with_its_real_span(client: TestClient, runtime: Runtime,
                                                 admin: dict[str, str],
                                                 speech_mp3: Path) -> None:
    got = _setup(client, admin, speech_mp3)
    rows = client.get("/api/v1/playbacks", headers=admin,
                      params={"station_id": got["able"]}).json()["items"]
    pid = rows[0]["id"]
    began = got["start"] + timedelta(milliseconds=40)
    ended = got["start"] + timedelta(minutes=12, seconds=18)
    reason = "stream_lost: at 738.0 s, connection reset; filled 1062.0 s (6.0 s filler)"
    with runtime.db.session() as session:
        ledger.apply_events(session=session, reports=[
            (got["able"], Event(event_id=uuid.uuid4().hex, playback_id=pid,
                                type=EventType.STARTED, at=began)),
            (got["able"], Event(event_id=uuid.uuid4().hex, playback_id=pid,
                                type=EventType.INTERRUPTED, at=ended, position_ms=738_000,
                                reason=reason))])
    [row] = client.get("/api/v1/playbacks", headers=admin,
                       params={"station_id": got["able"]}).json()["items"]
    assert (row["status"], row["reason"], row["stream_id"]) == ("interrupted", reason,
                                                                got["stream"])
    assert datetime.fromisoformat(row["started_at"]) == began
    assert datetime.fromisoformat(row["finished_at"]) == ended
    assert words.label(reason, zone="UTC", lang="vi") == (
        "Mất luồng tiếp âm và không có lại trước khi hết giờ")


def test_a_relay_broadcast_goes_by_plans_with_its_span(client: TestClient, runtime: Runtime,
                                                       admin: dict[str, str]) -> None:
    stream = added(client, admin, name="Đài tỉnh", url=dead_url(), allow_unreachable=True)
    one, two = station(client, admin, "Trạm 1"), station(client, admin, "Trạm 2")
    group = client.post("/api/v1/groups", headers=admin, json={
        "name": "Cả phường", "station_ids": [two["id"]]}).json()
    with runtime.db.session() as session:
        stations.record_features(session=session, features={
            one["id"]: [FEATURE_RELAY], two["id"]: [FEATURE_GROUPS, FEATURE_RELAY]})
    made = client.post("/api/v1/broadcasts", headers=admin, json={
        "stream_id": stream["id"], "duration_s": 90, "station_ids": [one["id"]],
        "group_ids": [group["id"]], "priority": "priority"})
    assert made.status_code == 201, made.text
    assert (made.json()["stream_id"], made.json()["duration_s"], made.json()["bulletin_id"]) \
        == (stream["id"], 90, None)
    rows = client.get("/api/v1/playbacks", headers=admin).json()["items"]
    assert sorted((r["station_id"], r["stream_id"], r["duration_ms"]) for r in rows) == [
        (one["id"], stream["id"], 90_000), (two["id"], stream["id"], 90_000)]
    [item] = _plan(runtime, two["id"], datetime.now(UTC)).items
    assert item.relay is not None and item.duration_ms == 90_000
    assert item.broadcast_id == made.json()["id"]
    used = client.delete(f"/api/v1/streams/{stream['id']}", headers=admin)
    assert used.status_code == 409 and used.json()["code"] == "stream_in_use"


@pytest.mark.parametrize("body", [{"duration_s": 60}, {"stream_id": 1},
                                  {"stream_id": 1, "duration_s": 60, "bulletin_id": 1},
                                  {"stream_id": 999, "duration_s": 60}])
def test_a_bad_relay_broadcast_is_refused(client: TestClient, admin: dict[str, str],
                                          body: dict[str, int]) -> None:
    added(client, admin, name="VOV1", url=dead_url(), allow_unreachable=True)
    target = station(client, admin, "Trạm 3")
    answer = client.post("/api/v1/broadcasts", headers=admin,
                         json={"station_ids": [target["id"]], **body})
    assert answer.status_code == (404 if body.get("stream_id") == 999 else 422), answer.text
    assert client.get("/api/v1/playbacks", headers=admin).json()["total"] == 0
