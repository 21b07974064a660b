"""The activity report, figure by figure against the ledger, on SQLite and PostgreSQL; its
route (ward filter, ward limit, errors) and its CSV."""

from __future__ import annotations

import csv
import io
import subprocess
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from scheduler.config import Settings
from scheduler.db import Database
from scheduler.reports import periods, service
from scheduler.reports.cutoffs import Cutoffs
from scheduler.reports.schemas import ActivityReport
from scheduler.runtime import Runtime
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD
from tests.scheduler.report_scenario import (
    BEFORE,
    EA_TAM,
    FIRST,
    LAST,
    REPORTED_AT,
    TAN_LOI,
    City,
    build,
    expected,
    local,
    matches,
    same,
)
from tests.support.clock import Clock
from tests.support.procs import free_port
from wardcast.protocol import Status

ZONE = "Asia/Ho_Chi_Minh"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The app's settings; its watchdog stays idle (the scenario runs its own)."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url, broker="embedded",
                    mqtt_url=f"mqtt://127.0.0.1:{free_port()}", missed_grace_s=3600)


def _report(db: Database, first: date = FIRST, last: date = LAST,
            wards: list[str] | None = None) -> ActivityReport:
    with db.session() as session:
        return service.activity(session=session, period=periods.between(first, last,
                                                                        timezone=ZONE),
                                wards=wards, now=REPORTED_AT, cutoffs=Cutoffs())


def test_every_figure_is_the_ledgers(db: Database, clock: Clock) -> None:
    city = build(db, clock)
    report = _report(db)
    matches(db, report)
    # the scenario is the one described, so the comparison above means something
    s1, s2, s3 = (next(s for s in report.stations if s.station_id == city.station_ids[k])
                  for k in ("s1", "s2", "s3"))
    assert (s1.interrupted, s1.emergencies, s1.cancelled, s1.bulletins) == (1, 1, 2, 2)
    assert (s2.failed, s2.not_played_by_reason) == (1, {"media_unavailable": 1})
    assert (s3.missed, s3.open, s3.not_played_by_reason) == (
        2, 1, {"late": 1, "no_start_reported": 1})
    assert s3.by_language == {"vi": pytest.approx(240, abs=1), "rad": pytest.approx(90, abs=1)}
    assert s1.availability == 1.0 and s1.longest_outage is None
    assert s3.longest_outage is not None
    assert s3.longest_outage.start == local(FIRST, 11, 59, 30)  # last heard, not the will
    assert s3.longest_outage.end == local(date(2026, 6, 3), 9)
    # distinct bulletins do not add up: two in each ward, three in the city
    assert [w.bulletins for w in report.wards] == [2, 2] and report.totals.bulletins == 3
    assert (report.from_, report.to, report.timezone) == (FIRST, LAST, ZONE)
    assert report.generated_at == REPORTED_AT and report.stations[0].name


def test_the_previous_period_is_computed_the_same_way(db: Database, clock: Clock) -> None:
    build(db, clock)
    report = _report(db)
    assert report.previous is not None
    assert (report.previous.from_, report.previous.to) == BEFORE
    with db.session() as session:
        want = expected(session, first=BEFORE[0], last=BEFORE[1], wards=None)
    same(report.previous.totals, want["city"][""], "previous city")
    for ward in report.previous.wards:
        same(ward, want["wards"][ward.ward], f"previous {ward.ward}")
    assert report.previous.totals.played == 10  # two days of 3 + 1 + 1


def test_a_ward_filter_counts_only_its_stations(db: Database, clock: Clock) -> None:
    build(db, clock)
    report = _report(db, wards=[EA_TAM])
    matches(db, report, wards={EA_TAM})
    assert [s.ward for s in report.stations] == [EA_TAM]
    assert report.wards_filter == [EA_TAM]


def test_outages_before_the_first_spell_after_the_last_and_without_any(
        db: Database, clock: Clock) -> None:
    city = build(db, clock)
    registered = local(date(2026, 6, 3), 12)
    clock.at(registered)
    with db.session() as session:
        silent, _ = stations.register(session=session, name="Trạm chưa lắp", ward=EA_TAM,
                                      timezone=ZONE)
        late, _ = stations.register(session=session, name="Trạm mới", ward=EA_TAM,
                                    timezone=ZONE)
        ids = {"silent": silent.id, "late": late.id, "s2": city.station_ids["s2"]}
        clock.at(local(date(2026, 6, 3), 14))  # the new station comes online two hours later
        stations.record_statuses(session=session, reports=[
            (ids["late"], Status(state="online", boot_id="n1"))])
        clock.at(local(LAST, 7, 59, 50))  # station 2's last word, then its will
        stations.record_statuses(session=session, reports=[
            (ids["s2"], Status(state="online", boot_id="b1"))])
        clock.at(local(LAST, 8, 0, 30))
        stations.record_statuses(session=session, reports=[
            (ids["s2"], Status(state="offline", boot_id="b1"))])
        session.commit()
    report = _report(db)
    matches(db, report)
    mine = {k: next(s for s in report.stations if s.station_id == sid) for k, sid in ids.items()}
    never = mine["silent"]
    assert (never.availability, never.online_seconds) == (0.0, 0.0)
    assert never.observed_seconds == pytest.approx(24 * 3600)  # from registration to now
    assert never.longest_outage is not None
    assert (never.longest_outage.start, never.longest_outage.end) == (registered, REPORTED_AT)
    head = mine["late"].longest_outage
    assert head is not None and (head.start, head.end) == (registered, registered + timedelta(
        hours=2))
    assert mine["late"].availability == pytest.approx(22 / 24)
    tail = mine["s2"].longest_outage
    assert tail is not None and (tail.start, tail.end) == (local(LAST, 7, 59, 50), REPORTED_AT)
    future = _report(db, first=date(2026, 7, 1), last=date(2026, 7, 2))
    assert future.totals.availability is None and future.totals.observed_seconds == 0


# --- the route ------------------------------------------------------------------------------

@pytest.fixture
def city(client: TestClient, runtime: Runtime, clock: Clock) -> City:
    built = build(runtime.db, clock)
    return built


def _login(client: TestClient, runtime: Runtime, role: str, wards: Sequence[str] = ()
           ) -> dict[str, str]:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD, role=role,
                          wards=wards)
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


SPAN = {"from": FIRST.isoformat(), "to": LAST.isoformat()}


def test_the_route_answers_the_report(client: TestClient, runtime: Runtime, city: City) -> None:
    viewer = _login(client, runtime, "viewer")
    answer = client.get("/api/v1/reports/activity", headers=viewer, params=SPAN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from"], body["to"], body["timezone"]) == ("2026-06-02", "2026-06-04", ZONE)
    assert body["stations"][0]["name"] and body["previous"]["from"] == "2026-05-30"
    matches(runtime.db, ActivityReport.model_validate(body))
    for role in ("editor", "approver", "admin"):  # every role reads reports
        assert client.get("/api/v1/reports/activity", headers=_login(client, runtime, role),
                          params=SPAN).status_code == 200
    named = client.get("/api/v1/reports/activity", headers=viewer, params={"period": "2026-H1"})
    assert named.status_code == 200, named.text
    assert (named.json()["from"], named.json()["to"]) == ("2025-12-15", "2026-06-14")
    assert named.json()["title"] == "6 tháng đầu năm 2026"
    matches(runtime.db, ActivityReport.model_validate(named.json()),
             first=date(2025, 12, 15), last=date(2026, 6, 14))


def test_the_route_filters_by_ward(client: TestClient, runtime: Runtime, city: City) -> None:
    viewer = _login(client, runtime, "viewer")
    answer = client.get("/api/v1/reports/activity", headers=viewer,
                        params={**SPAN, "ward": [TAN_LOI]})
    assert answer.status_code == 200, answer.text
    matches(runtime.db, ActivityReport.model_validate(answer.json()), wards={TAN_LOI})
    both = client.get("/api/v1/reports/activity", headers=viewer,
                      params={**SPAN, "ward": [TAN_LOI, EA_TAM]})
    matches(runtime.db, ActivityReport.model_validate(both.json()), wards={TAN_LOI, EA_TAM})


def test_a_ward_limited_user_sees_only_their_wards(client: TestClient, runtime: Runtime,
                                                   city: City) -> None:
    limited = _login(client, runtime, "viewer", wards=[EA_TAM])
    own = client.get("/api/v1/reports/activity", headers=limited, params=SPAN)
    assert own.status_code == 200, own.text
    report = ActivityReport.model_validate(own.json())
    assert {s.ward for s in report.stations} == {EA_TAM} and report.wards_filter == [EA_TAM]
    matches(runtime.db, report, wards={EA_TAM})
    assert "Tân Lợi" not in own.text
    for asked in ([TAN_LOI], [EA_TAM, TAN_LOI], ["Phường không có"]):
        for fmt in ("json", "csv", "xlsx", "pdf"):
            refused = client.get("/api/v1/reports/activity", headers=limited,
                                 params={**SPAN, "ward": asked, "format": fmt})
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == "outside_wards"
            assert refused.json()["field"] == "ward"
            assert refused.json()["detail"].startswith("Phường này nằm ngoài phạm vi của bạn")
            assert "Tân Lợi" not in refused.text and "không có" not in refused.text
    with runtime.db.session() as session:
        mine = {s.name for s in session.scalars(select(Station).where(Station.ward == EA_TAM))}
    for asked in ({}, {"ward": [EA_TAM]}):  # their wards by default, or named
        own_csv = client.get("/api/v1/reports/activity", headers=limited,
                             params={**SPAN, **asked, "format": "csv"})
        assert own_csv.status_code == 200, own_csv.text
        rows = list(csv.DictReader(io.StringIO(own_csv.content.decode("utf-8-sig"))))
        assert {row["Phường"] for row in rows if row["Cấp"] != "Thành phố"} == {EA_TAM}
        assert {row["Trạm"] for row in rows if row["Cấp"] == "Trạm"} == mine
        assert "Tân Lợi" not in own_csv.content.decode("utf-8-sig")


def test_a_ward_limited_users_xlsx_and_pdf_hold_only_their_wards(
        client: TestClient, runtime: Runtime, city: City, tmp_path: Path) -> None:
    limited = _login(client, runtime, "viewer", wards=[EA_TAM])
    with runtime.db.session() as session:
        own = {s.name for s in session.scalars(select(Station).where(Station.ward == EA_TAM))}
    for asked in ({}, {"ward": [EA_TAM]}):  # their wards by default, or named
        book = client.get("/api/v1/reports/activity", headers=limited,
                          params={**SPAN, **asked, "format": "xlsx"})
        assert book.status_code == 200, book.text
        workbook = openpyxl.load_workbook(io.BytesIO(book.content))
        assert workbook.sheetnames == ["Tổng hợp", "Phường, xã", "Trạm", EA_TAM]
        cells = [str(value) for sheet in workbook.worksheets
                 for row in sheet.iter_rows(values_only=True) for value in row if value]
        assert not [cell for cell in cells if "Tân Lợi" in cell], asked
        assert own <= set(cells)
        document = client.get("/api/v1/reports/activity", headers=limited,
                              params={**SPAN, **asked, "format": "pdf"})
        assert document.status_code == 200, document.text
        path = tmp_path / "limited.pdf"
        path.write_bytes(document.content)
        text = "".join(unicodedata.normalize("NFC", subprocess.run(
            ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True,
            text=True).stdout).split())
        assert "TânLợi" not in text and "EaTam" in text, asked
        assert all("".join(name.split()) in text for name in own)


@pytest.mark.parametrize(("params", "status", "code", "field"), [
    ({}, 422, "invalid", "period"),
    ({**SPAN, "period": "2026"}, 422, "invalid", "period"),
    ({"from": "2026-06-02"}, 422, "invalid", "to"),
    ({"to": "2026-06-02"}, 422, "invalid", "from"),
    ({"from": "2026-06-31", "to": "2026-07-02"}, 422, "invalid", "from"),
    ({"from": "02/06/2026", "to": "2026-07-02"}, 422, "invalid", "from"),
    ({"from": "2026-06-04", "to": "2026-06-02"}, 422, "invalid", "to"),
    ({"from": "2020-01-01", "to": "2026-01-01"}, 422, "invalid", "to"),
    ({"period": "2026-H3"}, 422, "invalid", "period"),
    ({"period": "1999"}, 422, "invalid", "period"),
    ({**SPAN, "ward": "Phường không có"}, 404, "ward_not_found", "ward"),
    ({**SPAN, "ward": " "}, 422, "invalid", "ward"),
    ({**SPAN, "format": "docx"}, 422, "invalid", "format"),
], ids=["nothing", "both", "no-to", "no-from", "no-such-day", "not-iso", "backwards",
        "too-long", "bad-half", "too-early", "unknown-ward", "empty-ward", "bad-format"])
def test_bad_requests_are_refused_in_both_languages(
        client: TestClient, runtime: Runtime, params: dict[str, str], status: int, code: str,
        field: str) -> None:
    answer = client.get("/api/v1/reports/activity", headers=_login(client, runtime, "viewer"),
                        params=params)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert (body["code"], body["field"]) == (code, field), body
    assert " — " in body["detail"], body  # Vietnamese, then English


def test_the_csv_reads_back(client: TestClient, runtime: Runtime, city: City) -> None:
    answer = client.get("/api/v1/reports/activity", headers=_login(client, runtime, "viewer"),
                        params={**SPAN, "format": "csv"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "bao-cao-hoat-dong_20260602-20260604.csv" in answer.headers["content-disposition"]
    assert answer.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    report = ActivityReport.model_validate(client.get(
        "/api/v1/reports/activity", headers=_login(client, runtime, "viewer"),
        params=SPAN).json())
    # Ea Tam's station, its subtotal, Tân Lợi's two, theirs, the city
    assert [r["Cấp"] for r in rows] == ["Trạm", "Phường", "Trạm", "Trạm", "Phường", "Thành phố"]
    assert [r["Phường"] for r in rows[:5]] == [EA_TAM, EA_TAM, TAN_LOI, TAN_LOI, TAN_LOI]
    named = {r["Trạm"]: r for r in rows if r["Cấp"] == "Trạm"}
    for station in report.stations:
        row = named[station.name]
        assert row["Phường"] == station.ward and int(row["Mã trạm"]) == station.station_id
        assert int(row["Đã phát"]) == station.played and int(row["Bị lỡ"]) == station.missed
        assert int(row["Kế hoạch"]) == station.planned
        assert float(row["Thời lượng phát (giây)"]) == pytest.approx(station.on_air_seconds,
                                                                    abs=1)
        assert int(row["Số bản tin"]) == station.bulletins
        assert float(row["Phát bằng Ê Đê (giây)"]) == pytest.approx(
            station.by_language.get("rad", 0), abs=1)
    ea_tam = next(s for s in report.stations if s.ward == EA_TAM)
    assert named[ea_tam.name]["Mất kết nối từ"] == "02/06/2026 11:59"  # local time
    assert float(named[ea_tam.name]["Tỷ lệ hoạt động (%)"]) == pytest.approx(
        (ea_tam.availability or 0) * 100, abs=0.01)
    total = rows[-1]
    assert int(total["Số bản tin"]) == report.totals.bulletins == 3
    assert int(total["Đã phát"]) == report.totals.played
    assert "Không phát: " + "late" not in total  # reasons are labelled in Vietnamese
    assert any(head.startswith("Không phát: ") and "(late)" in head for head in total)


def test_csv_cells_that_look_like_formulas_are_neutralised(
        client: TestClient, runtime: Runtime, admin: dict[str, str], clock: Clock) -> None:
    clock.at(REPORTED_AT - timedelta(days=5))
    with runtime.db.session() as session:
        stations.register(session=session, name="=HYPERLINK(\"http://evil.example\")",
                          ward="+Phường", timezone=ZONE)
        session.commit()
    clock.at(REPORTED_AT)
    answer = client.get("/api/v1/reports/activity", headers=admin,
                        params={**SPAN, "format": "csv"})
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    assert ["Trạm", "'+Phường", "'=HYPERLINK(\"http://evil.example\")"] == rows[1][:3]


# the columns of the XLSX's station sheet and the figures they hold
XLSX_COUNTS = {"Lượt phát theo kế hoạch": "planned", "Đã phát": "played",
               "Bị ngắt": "interrupted", "Bị lỡ": "missed", "Lỗi": "failed", "Bỏ qua": "skipped",
               "Đã hủy": "cancelled", "Số bản tin đã phát": "bulletins",
               "Lượt phát khẩn cấp": "emergencies"}


def test_the_xlsx_and_the_pdf_carry_the_ledgers_figures(
        client: TestClient, runtime: Runtime, city: City, tmp_path: Path) -> None:
    viewer = _login(client, runtime, "viewer")
    with runtime.db.session() as session:
        want = expected(session, first=FIRST, last=LAST, wards=None)
        names = {s.id: s.name for s in session.scalars(select(Station))}
    book_file = client.get("/api/v1/reports/activity", headers=viewer,
                           params={**SPAN, "format": "xlsx"})
    assert book_file.status_code == 200, book_file.text
    assert "bao-cao-hoat-dong_20260602-20260604.xlsx" in book_file.headers[
        "content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(book_file.content))["Trạm"]
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row[0] == "Tên trạm")
    heads = {head: index for index, head in enumerate(rows[start]) if head}
    seen = set()
    for row in rows[start + 1:]:
        if row[0] is None:
            break
        station_id = row[heads["Mã trạm"]]
        figures = want["stations"][station_id]
        assert row[0] == names[station_id]
        for head, name in XLSX_COUNTS.items():
            assert row[heads[head]] == figures[name], (names[station_id], head)
        hours = row[heads["Thời lượng phát sóng (giờ)"]]
        assert hours * 3600 == pytest.approx(figures["on_air_seconds"], abs=1)
        seen.add(station_id)
    assert seen == set(want["stations"])

    pdf_file = client.get("/api/v1/reports/activity", headers=viewer,
                          params={**SPAN, "format": "pdf"})
    assert pdf_file.status_code == 200 and pdf_file.headers["content-type"] == "application/pdf"
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf_file.content)
    text = unicodedata.normalize("NFC", subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True,
        text=True).stdout)
    flat = " ".join(text.split())
    city_figures = want["city"][""]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in flat and "BÁO CÁO" in flat
    assert "từ ngày 02/06/2026 đến ngày 04/06/2026" in flat
    assert f"{city_figures['planned']} lượt phát theo kế hoạch" in flat
    squeezed = "".join(text.split())
    for name in names.values():  # diacritics intact
        assert "".join(name.split()) in squeezed, name
    for ward in (TAN_LOI, EA_TAM):
        assert "".join(ward.split()) in squeezed, ward
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True,
                           text=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts
