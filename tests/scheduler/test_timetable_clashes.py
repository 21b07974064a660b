"""Clashes past the planning horizon are refused like those inside it (issue 14, section 3).

The horizon is 48 hours: a slot five days ahead has no playback yet, so the check compares
the timetables' expansions. Runs the planner would not plan (quiet hours, broadcast dates,
other stations) are no clash.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from scheduler.runtime import Runtime
from tests.scheduler.conftest import login_as, station, upload

API = "/api/v1"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def titled(client: TestClient, admin: dict[str, str], speech_mp3: Path) -> list[dict[str, Any]]:
    """Two approved bulletins with titles to look for in messages."""
    made = []
    approver = login_as(client, client.app.state.runtime, "approver")  # type: ignore[attr-defined]
    for title in ("Thông báo tiêm chủng", "Lịch thu gom rác"):
        bulletin = upload(client, admin, speech_mp3, title=title).json()
        client.post(f"{API}/bulletins/{bulletin['id']}/approve",
                    headers=approver).raise_for_status()  # the two-person rule
        made.append(bulletin)
    return made


def _local(days: int, at: str = "08:00") -> datetime:
    """A wall-clock time in Hồ Chí Minh City `days` from today."""
    day = datetime.now(HCM).date() + timedelta(days=days)
    return datetime.combine(day, datetime.strptime(at, "%H:%M").time())


def _make(client: TestClient, admin: dict[str, str], **body: Any) -> Any:
    body.setdefault("priority", "normal")
    for key, value in body.items():
        if isinstance(value, datetime):
            body[key] = value.isoformat()
    return client.post(f"{API}/timetables", headers=admin, json=body)


def _total(client: TestClient, admin: dict[str, str]) -> int:
    return int(client.get(f"{API}/timetables", headers=admin).json()["total"])


@pytest.mark.parametrize("days", [1, 5])
def test_a_clash_is_refused_tomorrow_and_five_days_ahead_alike(
        client: TestClient, admin: dict[str, str], titled: list[dict[str, Any]],
        days: int) -> None:
    target = station(client, admin, "Trạm Phường Bến Nghé")
    slot = _local(days)
    first = _make(client, admin, bulletin_id=titled[0]["id"], station_ids=[target["id"]],
                  starts_at=slot)
    assert first.status_code == 201, first.text
    assert first.json()["planned"] == (1 if days == 1 else 0)  # five days: past the horizon
    clash = _make(client, admin, bulletin_id=titled[1]["id"], station_ids=[target["id"]],
                  starts_at=slot + timedelta(seconds=1), recurrence="FREQ=DAILY")
    assert clash.status_code == 409, clash.text
    answer = clash.json()
    assert (answer["code"], answer["field"]) == ("timetable_conflict", "starts_at")
    local = slot.strftime("%H:%M %d/%m/%Y")
    assert answer["detail"] == (
        f"Trạm Phường Bến Nghé: trùng với «Thông báo tiêm chủng» (lịch phát khác, mức "
        f"thường) lúc {local} — Trạm Phường Bến Nghé clashes "
        f"with 'Thông báo tiêm chủng' (timetable {first.json()['id']}, normal) at {local}")
    assert _total(client, admin) == 1  # nothing of the refused one is kept
    assert client.get(f"{API}/playbacks", headers=admin).json()["total"] == (
        1 if days == 1 else 0)


def test_a_lower_priority_five_days_ahead_needs_displace_and_then_loses_its_slot(
        client: TestClient, runtime: Runtime, admin: dict[str, str],
        titled: list[dict[str, Any]]) -> None:
    target = station(client, admin, "Trạm Tân Định")
    slot = _local(5)
    lower = _make(client, admin, bulletin_id=titled[0]["id"], station_ids=[target["id"]],
                  starts_at=slot, recurrence="FREQ=WEEKLY")
    assert lower.status_code == 201, lower.text
    body = {"bulletin_id": titled[1]["id"], "station_ids": [target["id"]], "starts_at": slot,
            "priority": "priority"}
    asked = _make(client, admin, **body)
    assert asked.status_code == 409 and asked.json()["field"] == "displace"
    assert "displace=true" in asked.json()["detail"]
    assert slot.strftime("%H:%M %d/%m/%Y") in asked.json()["detail"]
    assert _total(client, admin) == 1
    higher = _make(client, admin, **body, displace=True)
    assert higher.status_code == 201, higher.text
    # days later the planner reaches the slot: the higher priority keeps it
    runtime.settings.horizon_hours = 24 * 6
    runtime.plan_and_push()
    rows = {r["timetable_id"]: r for r in client.get(f"{API}/playbacks", headers=admin).json()[
        "items"]}
    assert rows[higher.json()["id"]]["status"] == "planned"
    # as a displacement inside the horizon ends
    assert (rows[lower.json()["id"]]["status"], rows[lower.json()["id"]]["reason"]) == (
        "skipped", "preempted")


def test_a_displacement_stands_through_edits_while_its_priority_does(
        client: TestClient, admin: dict[str, str], titled: list[dict[str, Any]]) -> None:
    target = station(client, admin, "Trạm Cầu Kho")
    slot = _local(5)
    lower = _make(client, admin, bulletin_id=titled[0]["id"], station_ids=[target["id"]],
                  starts_at=slot, recurrence="FREQ=DAILY").json()
    higher = _make(client, admin, bulletin_id=titled[1]["id"], station_ids=[target["id"]],
                   starts_at=slot, priority="priority", displace=True).json()
    until = (slot + timedelta(days=30)).isoformat()
    for edited, change in ((higher, {"bulletin_id": titled[1]["id"]}),
                           (lower, {"until": until})):  # neither has to displace again
        answer = client.patch(f"{API}/timetables/{edited['id']}", headers=admin, json=change)
        assert answer.status_code == 200, answer.text
    # at the same priority the displacement no longer stands: a clash like any other
    same = client.patch(f"{API}/timetables/{higher['id']}", headers=admin,
                        json={"priority": "normal"})
    assert same.status_code == 409 and same.json()["field"] == "starts_at"


def test_editing_a_timetable_into_a_clash_past_the_horizon_is_refused(
        client: TestClient, admin: dict[str, str], titled: list[dict[str, Any]]) -> None:
    target = station(client, admin, "Trạm Đa Kao")
    # a group of one: the other timetable reaches the station through it
    group = client.post(f"{API}/groups", headers=admin, json={
        "name": "Cụm Đa Kao", "station_ids": [target["id"]]}).json()
    first = _make(client, admin, bulletin_id=titled[0]["id"], group_ids=[group["id"]],
                  starts_at=_local(4, "08:00"), recurrence="FREQ=WEEKLY;BYDAY=MO,WE,FR")
    assert first.status_code == 201, first.text
    second = _make(client, admin, bulletin_id=titled[1]["id"], station_ids=[target["id"]],
                   starts_at=_local(4, "09:00"), recurrence="FREQ=DAILY")
    assert second.status_code == 201, second.text
    moved = client.patch(f"{API}/timetables/{second.json()['id']}", headers=admin,
                         json={"starts_at": _local(4, "08:00").isoformat()})
    assert moved.status_code == 409, moved.text
    assert "Thông báo tiêm chủng" in moved.json()["detail"]
    kept = client.get(f"{API}/timetables/{second.json()['id']}", headers=admin).json()
    assert kept["starts_at"] == second.json()["starts_at"]  # the refused edit changed nothing


def test_no_clash_where_the_planner_would_not_plan(client: TestClient, admin: dict[str, str],
                                                   titled: list[dict[str, Any]]) -> None:
    one, two = station(client, admin, "Trạm Một"), station(client, admin, "Trạm Hai")
    slot = _local(5)
    assert _make(client, admin, bulletin_id=titled[0]["id"], station_ids=[one["id"]],
                 starts_at=slot, recurrence="FREQ=DAILY").status_code == 201
    # another station
    other = _make(client, admin, bulletin_id=titled[1]["id"], station_ids=[two["id"]],
                  starts_at=slot, recurrence="FREQ=DAILY")
    assert other.status_code == 201, other.text
    # quiet hours: neither plays at 08:00 on a station quiet from 07:30 to 08:30
    quiet = station(client, admin, "Trạm Yên Tĩnh")
    client.patch(f"{API}/stations/{quiet['id']}", headers=admin,
                 json={"quiet_start": "07:30", "quiet_end": "08:30"}).raise_for_status()
    for bulletin in titled:
        made = _make(client, admin, bulletin_id=bulletin["id"], station_ids=[quiet["id"]],
                     starts_at=slot, recurrence="FREQ=DAILY")
        assert made.status_code == 201, made.text
    # broadcast dates: a bulletin that may play until day four leaves day five free
    three = station(client, admin, "Trạm Ba")
    last_day: date = datetime.now(HCM).date() + timedelta(days=4)
    client.patch(f"{API}/bulletins/{titled[0]['id']}", headers=admin,
                 json={"valid_until": last_day.isoformat()}).raise_for_status()
    assert _make(client, admin, bulletin_id=titled[0]["id"], station_ids=[three["id"]],
                 starts_at=_local(1), recurrence="FREQ=DAILY").status_code == 201
    later = _make(client, admin, bulletin_id=titled[1]["id"], station_ids=[three["id"]],
                  starts_at=slot)
    assert later.status_code == 201, later.text
    # while on day four, past the horizon too, both would play
    refused = _make(client, admin, bulletin_id=titled[1]["id"], station_ids=[three["id"]],
                    starts_at=_local(4))
    assert refused.status_code == 409 and refused.json()["field"] == "starts_at"


def test_beyond_the_look_ahead_nothing_is_checked(client: TestClient, runtime: Runtime,
                                                  admin: dict[str, str],
                                                  titled: list[dict[str, Any]]) -> None:
    target = station(client, admin, "Trạm Xa")
    runtime.settings.lookahead_days = 3
    slot = _local(5)
    for bulletin in titled:
        made = _make(client, admin, bulletin_id=bulletin["id"], station_ids=[target["id"]],
                     starts_at=slot)
        assert made.status_code == 201, made.text  # left to the planner to settle


def _programme(client: TestClient, admin: dict[str, str], bulletins: list[dict[str, Any]],
               gap_ms: int) -> Any:
    answer = client.post(f"{API}/programmes", headers=admin, json={
        "title": "Chương trình buổi tối", "items": [
            {"bulletin_id": bulletins[0]["id"], "gap_after_ms": gap_ms},
            {"bulletin_id": bulletins[1]["id"]}]})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_programme_run_past_the_horizon_is_one_span(
        client: TestClient, admin: dict[str, str], titled: list[dict[str, Any]]) -> None:
    target = station(client, admin, "Trạm Chương Trình")
    programme = _programme(client, admin, titled, gap_ms=10 * 60_000)  # a 10-minute gap
    slot = _local(5, "18:00")
    run = _make(client, admin, programme_id=programme["id"], station_ids=[target["id"]],
                starts_at=slot)
    assert run.status_code == 201, run.text
    in_the_gap = _make(client, admin, bulletin_id=titled[0]["id"], station_ids=[target["id"]],
                       starts_at=slot + timedelta(minutes=5))
    assert in_the_gap.status_code == 409, in_the_gap.text
    assert "«Chương trình buổi tối»" in in_the_gap.json()["detail"]
    after = _make(client, admin, bulletin_id=titled[0]["id"], station_ids=[target["id"]],
                  starts_at=slot + timedelta(minutes=11))
    assert after.status_code == 201, after.text


def test_runs_of_one_timetable_that_overlap_past_the_horizon_are_refused(
        client: TestClient, admin: dict[str, str], titled: list[dict[str, Any]]) -> None:
    target = station(client, admin, "Trạm Dài")
    programme = _programme(client, admin, titled, gap_ms=20 * 60_000)  # runs over 20 minutes
    refused = _make(client, admin, programme_id=programme["id"], station_ids=[target["id"]],
                    starts_at=_local(5, "06:00"), recurrence="FREQ=MINUTELY;INTERVAL=15",
                    until=_local(5, "07:00"))
    assert refused.status_code == 409, refused.text
    assert refused.json()["field"] == "recurrence"
    assert f"lúc {_local(5, '06:15'):%H:%M %d/%m/%Y} ở Trạm Dài" in refused.json()["detail"]
    assert _total(client, admin) == 0


def test_a_run_the_ledger_already_closed_is_no_clash(
        client: TestClient, admin: dict[str, str], titled: list[dict[str, Any]]) -> None:
    target = station(client, admin, "Trạm Sổ Cái")
    slot = _local(1)  # inside the horizon: planned playbacks
    first = _make(client, admin, bulletin_id=titled[0]["id"], station_ids=[target["id"]],
                  starts_at=slot).json()
    second = _make(client, admin, bulletin_id=titled[1]["id"], station_ids=[target["id"]],
                   starts_at=slot, priority="priority", displace=True)
    assert second.status_code == 201, second.text  # the first one's playback: skipped
    client.delete(f"{API}/timetables/{second.json()['id']}", headers=admin).raise_for_status()
    # the first timetable still holds that slot, but its playback will not play
    third = _make(client, admin, bulletin_id=titled[1]["id"], station_ids=[target["id"]],
                  starts_at=slot)
    assert third.status_code == 201, third.text
    rows = client.get(f"{API}/playbacks", headers=admin).json()["items"]
    assert {(r["timetable_id"], r["status"]) for r in rows} == {
        (first["id"], "skipped"), (second.json()["id"], "cancelled"),
        (third.json()["id"], "planned")}
