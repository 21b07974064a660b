"""Timetables: validation naming the field, RRULE expansion in the station's zone, deletion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from scheduler.runtime import Runtime
from tests.scheduler.conftest import approved_bulletin, station, upload
from wardcast.protocol import to_wire


def _future(minutes: int = 30) -> str:
    return to_wire(datetime.now(UTC) + timedelta(minutes=minutes))


@pytest.fixture
def bulletin_id(client: TestClient, admin: dict[str, str], speech_mp3: Path) -> int:
    return approved_bulletin(client, admin, speech_mp3)


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"station_ids": [999]}, 404, "station_ids"),
    ({"bulletin_id": 999}, 404, "bulletin_id"),
    ({"recurrence": "FREQ=SOMETIMES"}, 422, "recurrence"),
    ({"recurrence": "FREQ=DAILY;BYHOUR=25"}, 422, "recurrence"),
    ({"starts_at": "2020-01-01T06:00:00Z"}, 422, "starts_at"),
    ({"starts_at": "not a date"}, 422, "starts_at"),
    ({"priority": "urgent"}, 422, "priority"),
    ({"station_ids": []}, 422, "station_ids"),
])
def test_bad_timetable_names_the_field(client: TestClient, admin: dict[str, str],
                                       bulletin_id: int, change: dict[str, object], status: int,
                                       field: str) -> None:
    target = station(client, admin, "Trạm A")
    body = {"bulletin_id": bulletin_id, "station_ids": [target["id"]], "starts_at": _future(),
            "recurrence": None, "priority": "normal", **change}
    answer = client.post("/api/v1/timetables", headers=admin, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field
    assert client.get("/api/v1/timetables", headers=admin).json()["total"] == 0
    assert client.get("/api/v1/playbacks", headers=admin).json()["total"] == 0


def test_pending_bulletin_cannot_be_scheduled(client: TestClient, admin: dict[str, str],
                                              speech_mp3: Path) -> None:
    pending = upload(client, admin, speech_mp3).json()
    target = station(client, admin, "Trạm A")
    answer = client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": pending["id"], "station_ids": [target["id"]], "starts_at": _future()})
    assert answer.status_code == 409 and answer.json()["field"] == "bulletin_id"


def test_weekday_rule_expands_in_each_station_zone(client: TestClient, runtime: Runtime,
                                                   admin: dict[str, str],
                                                   bulletin_id: int) -> None:
    hanoi = station(client, admin, "Hà Nội")
    bangkok_time = station(client, admin, "Yangon", timezone="Asia/Yangon")
    answer = client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin_id, "station_ids": [hanoi["id"], bangkok_time["id"]],
        "starts_at": "2026-01-05T06:00:00", "priority": "normal",
        "recurrence": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6,17;BYMINUTE=0;BYSECOND=0"})
    assert answer.status_code == 201, answer.text
    rows = client.get("/api/v1/playbacks", headers=admin, params={"limit": 1000}).json()["items"]
    assert rows, "the horizon should hold occurrences"
    now = datetime.now(UTC)
    for row in rows:
        zone = ZoneInfo("Asia/Ho_Chi_Minh" if row["station_id"] == hanoi["id"] else "Asia/Yangon")
        local = datetime.fromisoformat(row["scheduled_at"]).astimezone(zone)
        assert (local.hour, local.minute) in {(6, 0), (17, 0)}
        assert local.weekday() < 5
        assert now <= datetime.fromisoformat(row["scheduled_at"]) <= now + runtime.horizon
    expected = _expected_slots(now, runtime.horizon)
    per_station = {sid: sum(1 for r in rows if r["station_id"] == sid)
                   for sid in (hanoi["id"], bangkok_time["id"])}
    assert per_station[hanoi["id"]] == expected["Asia/Ho_Chi_Minh"]
    assert per_station[bangkok_time["id"]] == expected["Asia/Yangon"]


def _expected_slots(now: datetime, horizon: timedelta) -> dict[str, int]:
    counts = {}
    for name in ("Asia/Ho_Chi_Minh", "Asia/Yangon"):
        zone = ZoneInfo(name)
        day = now.astimezone(zone).date() - timedelta(days=1)
        count = 0
        for offset in range(5):
            for hour in (6, 17):
                local = datetime(day.year, day.month, day.day, hour, tzinfo=zone) + timedelta(
                    days=offset)
                if local.weekday() < 5 and now <= local.astimezone(UTC) <= now + horizon:
                    count += 1
        counts[name] = count
    return counts


def test_delete_cancels_future_playbacks(client: TestClient, admin: dict[str, str],
                                         bulletin_id: int) -> None:
    target = station(client, admin, "Trạm B")
    created = client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin_id, "station_ids": [target["id"]], "starts_at": _future(10),
        "recurrence": "FREQ=HOURLY;COUNT=5"}).json()
    assert created["planned"] == 5
    assert client.delete(f"/api/v1/timetables/{created['id']}", headers=admin).status_code == 204
    rows = client.get("/api/v1/playbacks", headers=admin).json()["items"]
    assert [r["status"] for r in rows] == ["cancelled"] * 5
    assert all(r["reason"] == "timetable deleted" for r in rows)
    assert client.delete(f"/api/v1/timetables/{created['id']}", headers=admin).status_code == 404


def test_playback_log_filters_and_csv(client: TestClient, admin: dict[str, str],
                                      bulletin_id: int) -> None:
    one, two = station(client, admin, "Trạm 1"), station(client, admin, "Trạm 2")
    client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin_id, "station_ids": [one["id"], two["id"]],
        "starts_at": _future(5), "recurrence": "FREQ=DAILY;COUNT=2"})
    only_one = client.get("/api/v1/playbacks", headers=admin,
                          params={"station_id": one["id"]}).json()
    assert only_one["total"] == 2 and {r["station_id"] for r in only_one["items"]} == {one["id"]}
    later = client.get("/api/v1/playbacks", headers=admin,
                       params={"from": _future(60)}).json()
    assert later["total"] == 2
    csv = client.get("/api/v1/playbacks", headers=admin, params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").strip().splitlines()  # after the BOM
    assert lines[0].startswith("id,station_id,bulletin_id")
    assert len(lines) == 5
    naive = client.get("/api/v1/playbacks", headers=admin, params={"from": "2026-01-01T00:00"})
    assert naive.status_code == 422 and naive.json()["field"] == "from"


def test_edit_keeps_matching_slots_and_cancels_the_rest(client: TestClient,
                                                        admin: dict[str, str],
                                                        bulletin_id: int) -> None:
    one, two = station(client, admin, "Trạm 1"), station(client, admin, "Trạm 2")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    created = client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin_id, "station_ids": [one["id"]], "starts_at": to_wire(start),
        "recurrence": "FREQ=HOURLY;COUNT=4"}).json()
    before = {r["scheduled_at"]: r for r in client.get("/api/v1/playbacks",
                                                       headers=admin).json()["items"]}
    edited = client.patch(f"/api/v1/timetables/{created['id']}", headers=admin, json={
        "station_ids": [one["id"], two["id"]], "recurrence": "FREQ=HOURLY;INTERVAL=2;COUNT=2",
        "priority": "priority"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["station_ids"] == [one["id"], two["id"]]
    rows = client.get("/api/v1/playbacks", headers=admin, params={"limit": 100}).json()["items"]
    live = [r for r in rows if r["status"] == "planned"]
    cancelled = [r for r in rows if r["status"] == "cancelled"]
    assert len(live) == 4 and {r["priority"] for r in live} == {"priority"}
    assert len(cancelled) == 2 and {r["reason"] for r in cancelled} == {"timetable changed"}
    kept = [r for r in live if r["station_id"] == one["id"]]
    assert {r["id"] for r in kept} <= {r["id"] for r in before.values()}
    back = client.patch(f"/api/v1/timetables/{created['id']}", headers=admin,
                        json={"recurrence": "FREQ=HOURLY;COUNT=4"})
    assert back.status_code == 200, back.text
    planned = client.get("/api/v1/playbacks", headers=admin,
                         params={"status": "planned", "limit": 100}).json()
    assert planned["total"] == 8
    bad = client.patch(f"/api/v1/timetables/{created['id']}", headers=admin,
                       json={"recurrence": "FREQ=NEVER"})
    assert bad.status_code == 422 and bad.json()["field"] == "recurrence"
    assert client.get("/api/v1/playbacks", headers=admin,
                      params={"status": "planned"}).json()["total"] == 8


def test_playback_events_route(client: TestClient, admin: dict[str, str],
                               bulletin_id: int) -> None:
    target = station(client, admin, "Trạm E")
    client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin_id, "station_ids": [target["id"]], "starts_at": _future()})
    row = client.get("/api/v1/playbacks", headers=admin).json()["items"][0]
    assert client.get(f"/api/v1/playbacks/{row['id']}", headers=admin).json() == row
    assert client.get(f"/api/v1/playbacks/{row['id']}/events",
                      headers=admin).json() == {"items": [], "total": 0}
    assert client.get("/api/v1/playbacks/999/events", headers=admin).status_code == 404
