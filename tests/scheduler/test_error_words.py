"""Errors people read: stations and bulletins by name, the station's own time written
dd/mm/yyyy HH:MM, Vietnamese words for values — never UTC ISO times, ids or English codes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.scheduler.conftest import approved_bulletin, station, upload

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MACHINE = re.compile(r"\d{4}-\d\d-\d\d|T\d\d:\d\d|[+-]00:00|\bnormal\b|\bpending\b")


def vietnamese(detail: str) -> str:
    head, _, _english = detail.partition(" — ")
    assert not MACHINE.search(head), detail
    return head


def test_a_slot_in_the_past_is_said_at_the_station_in_its_own_time(
        client: TestClient, admin: dict[str, str], speech: Path) -> None:
    bulletin = approved_bulletin(client, admin, speech)
    ward = station(client, admin, "Trạm Phường Tân Lợi")
    # a minute ago, at the station: the day it was there (23:xx UTC is already tomorrow there)
    past = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    answer = client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin, "station_ids": [ward["id"]], "starts_at": past.isoformat()})
    assert answer.status_code == 422, answer.text
    said = vietnamese(answer.json()["detail"])
    assert f"{past.astimezone(HCM):%H:%M %d/%m/%Y}" in said
    assert "Trạm Phường Tân Lợi" in said


def test_quiet_hours_name_the_station_and_its_hours(
        client: TestClient, admin: dict[str, str], speech: Path) -> None:
    bulletin = approved_bulletin(client, admin, speech)
    ward = station(client, admin, "Trạm Xã Ea Tu")
    soon = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
    local = soon.astimezone(HCM)
    quiet = {"quiet_start": f"{local - timedelta(minutes=30):%H:%M}",
             "quiet_end": f"{local + timedelta(minutes=30):%H:%M}"}
    assert client.patch(f"/api/v1/stations/{ward['id']}", headers=admin,
                        json=quiet).status_code == 200
    answer = client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin, "station_ids": [ward["id"]], "starts_at": soon.isoformat()})
    assert answer.status_code == 422, answer.text
    said = vietnamese(answer.json()["detail"])
    assert f"{local:%H:%M} nằm trong giờ im lặng" in said and "Trạm Xã Ea Tu" in said


def test_an_unapproved_bulletin_is_named_and_its_state_said_in_words(
        client: TestClient, admin: dict[str, str], speech: Path) -> None:
    pending = upload(client, admin, speech, title="Thông báo tiêm chủng").json()
    ward = station(client, admin, "Trạm Phường Thành Nhất")
    soon = datetime.now(UTC) + timedelta(hours=1)
    answer = client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": pending["id"], "station_ids": [ward["id"]],
        "starts_at": soon.isoformat()})
    assert answer.status_code == 409, answer.text
    assert vietnamese(answer.json()["detail"]) == (
        "Bản tin «Thông báo tiêm chủng» đang chờ duyệt, chưa được duyệt")
    assert answer.json()["code"] == "bulletin_not_approved"  # the code stays for programs


def test_a_clash_names_both_and_says_the_priority_in_words(
        client: TestClient, admin: dict[str, str], speech: Path) -> None:
    bulletin = approved_bulletin(client, admin, speech)
    ward = station(client, admin, "Trạm Phường Ea Tam")
    at = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    body = {"bulletin_id": bulletin, "station_ids": [ward["id"]], "starts_at": at.isoformat()}
    assert client.post("/api/v1/timetables", headers=admin, json=body).status_code == 201
    answer = client.post("/api/v1/timetables", headers=admin, json=body)
    assert answer.status_code == 409, answer.text
    said = vietnamese(answer.json()["detail"])
    assert f"lúc {at.astimezone(HCM):%H:%M %d/%m/%Y}" in said
    assert "Trạm Phường Ea Tam" in said and "mức thường" in said
