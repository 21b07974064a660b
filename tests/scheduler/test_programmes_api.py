"""Programmes through the API: one run, its items at their offsets, one unit for the rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from scheduler.runtime import Runtime
from tests.scheduler.conftest import approved_bulletin, station, upload
from tests.support.audio import speech_wav
from wardcast.protocol import to_wire

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
API = "/api/v1"


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    return [speech_wav(folder / f"{n}.wav", text=text) for n, text in enumerate(
        ("Mở đầu.", "Mục thứ hai của chương trình.", "Kết thúc."))]


@pytest.fixture
def bulletins(client: TestClient, admin: dict[str, str], clips: list[Path]) -> list[int]:
    return [approved_bulletin(client, admin, clip) for clip in clips]


def _programme(client: TestClient, admin: dict[str, str], ids: list[int],
               gaps: list[int]) -> dict[str, object]:
    answer = client.post(f"{API}/programmes", headers=admin, json={
        "title": "Chương trình sáng", "items": [
            {"bulletin_id": b, "gap_after_ms": g} for b, g in zip(ids, gaps, strict=True)]})
    assert answer.status_code == 201, answer.text
    made: dict[str, object] = answer.json()
    return made


def _rows(client: TestClient, admin: dict[str, str], **params: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = client.get(f"{API}/playbacks", headers=admin, params={
        "limit": 1000, **params}).json()["items"]
    return items


def _at(row: dict[str, object], key: str = "scheduled_at") -> datetime:
    return datetime.fromisoformat(str(row[key]))


def test_programme_run_is_planned_item_by_item_and_logged_as_one(
        client: TestClient, admin: dict[str, str], bulletins: list[int]) -> None:
    made = _programme(client, admin, bulletins, [2000, 1000, 0])
    items = made["items"]
    assert isinstance(items, list)
    durations = [int(i["duration_ms"]) for i in items]
    assert [i["offset_ms"] for i in items] == [
        0, durations[0] + 2000, durations[0] + durations[1] + 3000]
    assert made["duration_ms"] == sum(durations) + 3000 and made["schedulable"] is True
    target = station(client, admin, "Trạm chương trình")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    answer = client.post(f"{API}/timetables", headers=admin, json={
        "programme_id": made["id"], "station_ids": [target["id"]], "starts_at": to_wire(start),
        "recurrence": "FREQ=DAILY;COUNT=2"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["programme_id"] == made["id"] and answer.json()["bulletin_id"] is None
    rows = _rows(client, admin, programme_id=made["id"])
    assert len(rows) == 6 and len(_rows(client, admin)) == 6
    first = [r for r in rows if _at(r, "programme_run_at") == start]
    assert [r["programme_position"] for r in first] == [0, 1, 2]
    assert [r["bulletin_id"] for r in first] == bulletins
    assert [_at(r) - start for r in first] == [timedelta(milliseconds=i["offset_ms"])
                                               for i in items]
    second = [r for r in rows if r not in first]
    assert {_at(r, "programme_run_at") for r in second} == {start + timedelta(days=1)}
    agenda = client.get(f"{API}/stations/{target['id']}/agenda", headers=admin, params={
        "from": to_wire(start), "to": to_wire(start + timedelta(days=3))}).json()["items"]
    assert [(i["programme_id"], i["programme_position"]) for i in agenda] == [
        (made["id"], n) for n in (0, 1, 2)] * 2
    csv = client.get(f"{API}/playbacks", headers=admin, params={"format": "csv"}).text
    assert "programme_position" in csv.splitlines()[0]


def test_programme_items_are_checked(client: TestClient, admin: dict[str, str],
                                     bulletins: list[int], clips: list[Path]) -> None:
    unknown = client.post(f"{API}/programmes", headers=admin, json={
        "title": "Sai", "items": [{"bulletin_id": bulletins[0]}, {"bulletin_id": 999}]})
    assert unknown.status_code == 404 and unknown.json()["field"] == "items.1.bulletin_id"
    empty = client.post(f"{API}/programmes", headers=admin, json={"title": "Rỗng", "items": []})
    assert empty.status_code == 422
    endless = client.post(f"{API}/programmes", headers=admin, json={"title": "Dài", "items": [
        {"bulletin_id": bulletins[0], "gap_after_ms": 3_600_000}] * 7})
    assert endless.status_code == 422 and endless.json()["field"] == "items"
    pending = upload(client, admin, clips[0], title="chưa duyệt").json()["id"]
    made = _programme(client, admin, [bulletins[0], pending], [0, 0])
    assert made["schedulable"] is False
    target = station(client, admin, "Trạm kiểm tra")
    body = {"programme_id": made["id"], "station_ids": [target["id"]],
            "starts_at": to_wire(datetime.now(UTC) + timedelta(hours=1))}
    refused = client.post(f"{API}/timetables", headers=admin, json=body)
    assert refused.status_code == 409 and refused.json()["field"] == "programme_id"
    both = client.post(f"{API}/timetables", headers=admin, json={**body,
                                                                  "bulletin_id": bulletins[0]})
    assert both.status_code == 422
    fixed = client.patch(f"{API}/programmes/{made['id']}", headers=admin, json={
        "title": "Đã sửa", "items": [{"bulletin_id": bulletins[1], "gap_after_ms": 500},
                                     {"bulletin_id": bulletins[2]}]})
    assert fixed.status_code == 200 and fixed.json()["schedulable"] is True
    timetable = client.post(f"{API}/timetables", headers=admin, json=body)
    assert timetable.status_code == 201, timetable.text
    in_use = client.delete(f"{API}/programmes/{made['id']}", headers=admin)
    assert in_use.status_code == 409 and f"timetable {timetable.json()['id']}" in in_use.text
    client.delete(f"{API}/timetables/{timetable.json()['id']}", headers=admin)
    assert client.delete(f"{API}/programmes/{made['id']}", headers=admin).status_code == 204
    assert client.get(f"{API}/programmes/{made['id']}", headers=admin).status_code == 404
    assert {r["status"] for r in _rows(client, admin)} == {"cancelled"}


def test_a_programme_edit_moves_its_planned_items(client: TestClient, admin: dict[str, str],
                                                  bulletins: list[int]) -> None:
    made = _programme(client, admin, bulletins[:2], [1000, 0])
    target = station(client, admin, "Trạm sửa")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    client.post(f"{API}/timetables", headers=admin, json={
        "programme_id": made["id"], "station_ids": [target["id"]],
        "starts_at": to_wire(start)}).raise_for_status()
    client.patch(f"{API}/programmes/{made['id']}", headers=admin, json={"items": [
        {"bulletin_id": b, "gap_after_ms": 3000} for b in bulletins]}).raise_for_status()
    live = [r for r in _rows(client, admin) if r["status"] == "planned"]
    assert [r["bulletin_id"] for r in live] == bulletins
    cancelled = [r for r in _rows(client, admin) if r["status"] == "cancelled"]
    assert {r["reason"] for r in cancelled} == {"programme changed"}  # item 1 moved


def test_quiet_hours_and_conflicts_treat_a_run_as_one_span(
        client: TestClient, admin: dict[str, str], bulletins: list[int]) -> None:
    made = _programme(client, admin, bulletins, [60_000, 60_000, 0])  # over two minutes
    target = station(client, admin, "Trạm im lặng")
    client.patch(f"{API}/stations/{target['id']}", headers=admin,
                 json={"quiet_start": "21:30", "quiet_end": "05:30"}).raise_for_status()
    tomorrow = (datetime.now(HCM) + timedelta(days=1)).replace(second=0, microsecond=0)
    late = tomorrow.replace(hour=21, minute=29)  # starts before quiet hours, runs into them
    refused = client.post(f"{API}/timetables", headers=admin, json={
        "programme_id": made["id"], "station_ids": [target["id"]],
        "starts_at": late.isoformat()})
    assert refused.status_code == 422 and "giờ im lặng" in refused.json()["detail"]
    morning = tomorrow.replace(hour=9, minute=0)
    run = client.post(f"{API}/timetables", headers=admin, json={
        "programme_id": made["id"], "station_ids": [target["id"]],
        "starts_at": morning.isoformat()})
    assert run.status_code == 201, run.text
    in_the_gap = morning + timedelta(seconds=30)  # between item 0 and item 1
    body = {"bulletin_id": bulletins[0], "station_ids": [target["id"]],
            "starts_at": in_the_gap.isoformat()}
    clash = client.post(f"{API}/timetables", headers=admin, json=body)
    assert clash.status_code == 409 and clash.json()["code"] == "timetable_conflict"
    assert "Chương trình sáng" in clash.json()["detail"]
    assert f"timetable {run.json()['id']}" in clash.json()["detail"]
    displaced = client.post(f"{API}/timetables", headers=admin, json={
        **body, "priority": "priority", "displace": True})
    assert displaced.status_code == 201, displaced.text
    run_rows = _rows(client, admin, programme_id=made["id"])
    assert len(run_rows) == 3
    assert {(r["status"], r["reason"]) for r in run_rows} == {("skipped", "preempted")}


def test_rolling_the_horizon_settles_overlaps_it_had_not_seen(
        client: TestClient, runtime: Runtime, admin: dict[str, str],
        bulletins: list[int]) -> None:
    target = station(client, admin, "Trạm xa")
    runtime.settings.horizon_hours = 1
    # with no look-ahead past the horizon, as for timetables stored before it existed or
    # clashes that arise later (a station joining a group)
    runtime.settings.lookahead_days = 0
    slot = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    later = slot + timedelta(hours=1)
    ids = []
    for priority, at in (("normal", slot), ("priority", slot), ("normal", slot),
                         ("normal", later), ("normal", later)):
        made = client.post(f"{API}/timetables", headers=admin, json={
            "bulletin_id": bulletins[1], "station_ids": [target["id"]], "priority": priority,
            "starts_at": to_wire(at)})
        assert made.status_code == 201, made.text  # beyond the horizon: nothing to check yet
        ids.append(made.json()["id"])
    assert _rows(client, admin) == []
    runtime.settings.horizon_hours = 5
    runtime.plan_and_push()
    rows = {r["timetable_id"]: r for r in _rows(client, admin)}
    assert len(rows) == 5
    kept = {i for i, r in rows.items() if r["status"] == "planned"}
    assert kept == {ids[1], ids[3]}  # the higher priority; then the older timetable
    for loser, winner in ((ids[0], ids[1]), (ids[2], ids[1]), (ids[4], ids[3])):
        assert rows[loser]["status"] == "skipped"
        assert rows[loser]["reason"] == (f"conflict with timetable {winner} "
                                         f"(playback {rows[winner]['id']})")
    runtime.plan_and_push()  # settled once: a second roll changes nothing
    assert {r["timetable_id"]: r for r in _rows(client, admin)} == rows
