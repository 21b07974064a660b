"""Dates near either end of the calendar are refused with 422 by every route and page that takes
them (they had answered 500: OverflowError), and dates just inside the range still work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scheduler.runtime import Runtime
from tests.scheduler.conftest import approved_bulletin, station

# the last instant whose UTC conversion overflows, and the first
HIGH = "9999-12-31T23:59:59-14:00"
LOW = "0001-01-01T00:00:00+14:00"
EDGES = pytest.mark.parametrize("value", [HIGH, LOW])


def _refused(answer: Any, field: str) -> None:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert (body["code"], body["field"]) == ("out_of_range", field), body
    vietnamese, english = body["detail"].split(" — ")
    assert "ngoài khoảng" in vietnamese and field in vietnamese
    assert "outside the range" in english and field in english


def _page_refused(answer: Any) -> None:
    assert answer.status_code == 422, answer.text[:500]
    assert "ngoài khoảng wardcast xử lý được" in answer.text


@EDGES
@pytest.mark.parametrize("field", ["from", "to"])
@pytest.mark.parametrize("extra", [{}, {"format": "csv"}], ids=["json", "csv"])
def test_the_playback_log_refuses_dates_out_of_range(client: TestClient, admin: dict[str, str],
                                                     value: str, field: str,
                                                     extra: dict[str, str]) -> None:
    _refused(client.get("/api/v1/playbacks", headers=admin, params={field: value, **extra}),
             field)


@EDGES
@pytest.mark.parametrize("field", ["from", "to"])
def test_the_audit_log_refuses_dates_out_of_range(client: TestClient, admin: dict[str, str],
                                                  value: str, field: str) -> None:
    _refused(client.get("/api/v1/audit", headers=admin, params={field: value}), field)


@EDGES
def test_the_agenda_refuses_dates_out_of_range(client: TestClient, admin: dict[str, str],
                                               value: str) -> None:
    path = f"/api/v1/stations/{station(client, admin, 'Trạm A')['id']}/agenda"
    for field in ("from", "to"):
        window = {"from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z", field: value}
        _refused(client.get(path, headers=admin, params=window), field)


@EDGES
@pytest.mark.parametrize("field", ["starts_at", "until"])
def test_timetables_refuse_dates_out_of_range(client: TestClient, admin: dict[str, str],
                                              speech: Path, value: str, field: str) -> None:
    bulletin = approved_bulletin(client, admin, speech)
    target = station(client, admin, "Trạm A")
    good = {"bulletin_id": bulletin, "station_ids": [target["id"]],
            "starts_at": "2099-01-01T06:00:00", "recurrence": "FREQ=DAILY"}
    _refused(client.post("/api/v1/timetables", headers=admin, json={**good, field: value}),
             field)
    # a wall time (no offset) in the last day is refused too: a station's zone moves it past
    _refused(client.post("/api/v1/timetables", headers=admin,
                         json={**good, field: value[:19]}), field)
    created = client.post("/api/v1/timetables", headers=admin, json=good)
    assert created.status_code == 201, created.text
    _refused(client.patch(f"/api/v1/timetables/{created.json()['id']}", headers=admin,
                          json={field: value}), field)
    assert client.get("/api/v1/timetables", headers=admin).json()["total"] == 1


def _pages(client: TestClient, admin: dict[str, str]) -> TestClient:
    client.cookies.set("wardcast_session", admin["Authorization"].removeprefix("Bearer "))
    return client


@EDGES
def test_pages_refuse_dates_out_of_range(client: TestClient, admin: dict[str, str],
                                         speech: Path, value: str) -> None:
    bulletin = approved_bulletin(client, admin, speech)
    target = station(client, admin, "Trạm A")
    pages = _pages(client, admin)
    day = value[:10]
    _page_refused(pages.get("/timetables", params={"week": day}))
    _page_refused(pages.get("/log", params={"from": day}))
    _page_refused(pages.get("/log", params={"to": day}))
    form = {"what": f"b:{bulletin}", "station_ids": str(target["id"]), "day": day,
            "at": "23:59", "repeat": "once", "priority": "normal"}
    origin = {"Origin": "http://testserver"}
    _page_refused(pages.post("/timetables", data=form, headers=origin))
    _page_refused(pages.post("/timetables", headers=origin, data={
        **form, "day": "2099-01-01", "repeat": "daily", "until": day}))
    assert client.get("/api/v1/timetables", headers=admin).json()["total"] == 0


def test_dates_just_inside_the_range_work(client: TestClient, runtime: Runtime,
                                          admin: dict[str, str], speech: Path) -> None:
    bulletin = approved_bulletin(client, admin, speech)
    target = station(client, admin, "Trạm A", timezone="Pacific/Kiritimati")  # UTC+14
    created = client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin, "station_ids": [target["id"]], "recurrence": "FREQ=DAILY",
        "starts_at": "9998-12-01T06:00:00", "until": "9998-12-31T23:59:59"})
    assert created.status_code == 201, created.text
    agenda = client.get(f"/api/v1/stations/{target['id']}/agenda", headers=admin, params={
        "from": "9998-12-01T00:00:00Z", "to": "9998-12-31T23:59:59Z"})
    assert agenda.status_code == 200, agenda.text
    assert agenda.json()["total"] == 31  # every day of December, 06:00 local
    for params in ({"from": "0002-01-01T00:00:00Z"}, {"to": "9998-12-31T23:59:59Z"}):
        assert client.get("/api/v1/playbacks", headers=admin, params=params).status_code == 200
        assert client.get("/api/v1/audit", headers=admin, params=params).status_code == 200
    pages = _pages(client, admin)
    week = pages.get("/timetables", params={"week": "9998-12-31",
                                            "station_id": str(target["id"])})
    assert week.status_code == 200 and "06:00" in week.text
    assert pages.get("/log", params={"from": "0002-01-01", "to": "9998-12-31"}).status_code == 200
