"""Relays on the pages without a browser: the timetable editor offers streams (Tiếp âm) with
an end time or minutes; the log, the calendar and the timetable list name the stream."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from scheduler.config import Settings
from scheduler.runtime import Runtime
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD, station
from tests.scheduler.streams_support import added, dead_url, quick

ORIGIN = {"Origin": "http://testserver"}
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return quick(settings)


def _log_in(client: TestClient, runtime: Runtime, role: str) -> None:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD, role=role)
    answer = client.post("/login", data={"username": username, "password": PASSWORD},
                         headers=ORIGIN, follow_redirects=False)
    assert answer.status_code == 303, answer.text


@pytest.mark.parametrize(("end", "seconds"), [("06:00", 1800), ("45", 2700), ("00:30", 68400)])
def test_the_editor_saves_a_relay_with_its_span(client: TestClient, runtime: Runtime,
                                                admin: dict[str, str], end: str,
                                                seconds: int) -> None:
    stream = added(client, admin, name="VOV1 Thời sự", url=dead_url(), allow_unreachable=True)
    target = station(client, admin, "Trạm Tiếp âm")
    _log_in(client, runtime, "editor")
    editor = client.get("/timetables/new")
    assert f'value="s:{stream["id"]}"' in editor.text and "Tiếp âm: VOV1 Thời sự" in editor.text
    day = (datetime.now(ZONE) + timedelta(days=1)).strftime("%d/%m/%Y")
    saved = client.post("/timetables", headers=ORIGIN, follow_redirects=False, data={
        "what": f"s:{stream['id']}", "relay_end": end, "day": day, "at": "05:30",
        "repeat": "once", "station_ids": str(target["id"]), "priority": "normal"})
    assert saved.status_code == 303, saved.text
    [timetable] = client.get("/api/v1/timetables", headers=admin).json()["items"]
    assert (timetable["stream_id"], timetable["duration_s"]) == (stream["id"], seconds)
    listed = client.get("/timetables", params={"station_id": target["id"],
                                               "week": saved.headers["location"][-10:]})
    assert "Tiếp âm: VOV1 Thời sự" in listed.text
    assert '<span class="relay">Tiếp âm: VOV1 Thời sự</span>' in listed.text  # the calendar
    assert "/bulletins/None" not in listed.text
    log = client.get("/log")
    assert "Tiếp âm: VOV1 Thời sự" in log.text
    again = client.get(f"/timetables/{timetable['id']}/edit")
    assert f'value="{(datetime(2000, 1, 1, 5, 30) + timedelta(seconds=seconds)):%H:%M}"' \
        in again.text


def test_a_relay_without_a_span_is_refused_and_kept(client: TestClient, runtime: Runtime,
                                                    admin: dict[str, str]) -> None:
    stream = added(client, admin, name="Đài tỉnh", url=dead_url(), allow_unreachable=True)
    target = station(client, admin, "Trạm B")
    _log_in(client, runtime, "editor")
    day = (datetime.now(ZONE) + timedelta(days=1)).strftime("%d/%m/%Y")
    refused = client.post("/timetables", headers=ORIGIN, data={
        "what": f"s:{stream['id']}", "relay_end": "", "day": day, "at": "05:30",
        "repeat": "once", "station_ids": str(target["id"])})
    assert refused.status_code == 422
    assert "Hãy nhập giờ kết thúc tiếp âm" in refused.text
    assert f'value="s:{stream["id"]}" selected' in refused.text
    assert client.get("/api/v1/timetables", headers=admin).json()["total"] == 0


def test_a_relay_broadcasts_page_names_its_stream(client: TestClient, runtime: Runtime,
                                                  admin: dict[str, str]) -> None:
    stream = added(client, admin, name="Đài tỉnh", url=dead_url(), allow_unreachable=True)
    target = station(client, admin, "Trạm C")
    made = client.post("/api/v1/broadcasts", headers=admin, json={
        "stream_id": stream["id"], "duration_s": 120, "station_ids": [target["id"]]})
    assert made.status_code == 201, made.text
    _log_in(client, runtime, "approver")
    page = client.get(f"/emergency/{made.json()['id']}")
    assert page.status_code == 200 and "Đài tỉnh" in page.text and "Tiếp âm" in page.text
