"""The Báo cáo page (in-process, SQLite and PostgreSQL): every figure of the week in
report_scenario as the page writes it, worked out again from the ledger; the periods offered,
errors in the page in the reader's language, the ward limit, the files behind its buttons."""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import cssselect2
import openpyxl
import pytest
import tinyhtml5
from fastapi.testclient import TestClient
from sqlalchemy import select

from scheduler.catalogue.names import built_in
from scheduler.config import Settings
from scheduler.deps import SESSION_COOKIE
from scheduler.reports.schemas import ActivityReport, Figures, StationFigures
from scheduler.runtime import Runtime
from scheduler.stations.models import Station
from scheduler.users import service as users
from scheduler.web import charts
from scheduler.web import format as fmt
from scheduler.web.reportview import Reader
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
)
from tests.support.clock import Clock
from tests.support.procs import free_port

SPAN = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
COUNTS = ("planned", "played", "interrupted", "missed", "failed", "skipped", "cancelled",
          "open", "bulletins", "emergencies")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The app's settings; its watchdog stays idle (the scenario runs its own)."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url, broker="embedded",
                    mqtt_url=f"mqtt://127.0.0.1:{free_port()}", missed_grace_s=3600)


@pytest.fixture
def city(client: TestClient, runtime: Runtime, clock: Clock) -> City:
    return build(runtime.db, clock)


def _user(runtime: Runtime, role: str = "viewer", *, wards: Sequence[str] = (),
          language: str | None = None) -> str:
    """Make a user; return its name."""
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        user = users.create_user(session=session, username=username, password=PASSWORD,
                                 role=role, wards=wards)
        user.language = language
        session.commit()
    return username


def _page(client: TestClient, username: str, params: dict[str, Any] | None = None,
          status: int = 200) -> cssselect2.ElementWrapper:
    token = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert token.status_code == 200, token.text
    client.cookies.set(SESSION_COOKIE, token.json()["access_token"])
    answer = client.get("/reports", params=params or {})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    return cssselect2.ElementWrapper.from_html_root(tinyhtml5.parse(answer.text))


def _text(root: cssselect2.ElementWrapper, selector: str) -> str:
    found = root.query(selector)
    assert found is not None, selector
    return " ".join("".join(found.etree_element.itertext()).split())


def _all(root: cssselect2.ElementWrapper, selector: str) -> list[str]:
    return [" ".join("".join(e.etree_element.itertext()).split())
            for e in root.query_all(selector)]


def _shown(value: Any, key: str) -> str:
    """A figure as the page writes it in Vietnamese."""
    if key == "on_air_seconds":
        return fmt.hours_minutes(value, lang="vi")
    if key == "availability":
        return fmt.percent(value, lang="vi")
    return fmt.number(value, lang="vi")


def _cells(row: cssselect2.ElementWrapper) -> dict[str, str]:
    """A table row's figures by their key, without the change beside them."""
    cells = {}
    for cell in row.query_all("td[data-figure]"):
        element = cell.etree_element
        first = "".join(element.text or "").strip()
        cells[element.get("data-figure")] = first
    return cells


def test_the_page_shows_every_figure_of_the_ledger(client: TestClient, runtime: Runtime,
                                                    city: City) -> None:
    root = _page(client, _user(runtime), SPAN)
    with runtime.db.session() as session:
        want = expected(session, first=FIRST, last=LAST, wards=None)
        before = expected(session, first=BEFORE[0], last=BEFORE[1], wards=None)
        ward_of = {s.id: s.ward for s in session.scalars(select(Station))}
    keys = (*COUNTS, "on_air_seconds", "availability")
    for sid, figures in want["stations"].items():
        row = root.query(f"#stations tr[data-station='{sid}']")
        assert row is not None, sid
        assert _cells(row) == {k: _shown(figures[k], k) for k in keys}, sid
    for ward, figures in want["wards"].items():
        row = root.query(f"#wards tr[data-ward='{ward}']")
        assert row is not None, ward
        members = sum(1 for sid in want["stations"] if ward_of[sid] == ward)
        assert _cells(row) == {"stations": str(members)} | {
            k: _shown(figures[k], k) for k in keys}, ward
    city_figures, previous = want["city"][""], before["city"][""]
    for key in keys:
        now = _text(root, f"#totals tr[data-figure='{key}'] td.now")
        assert now == _shown(city_figures[key], key), key
    # the change from the previous period: 10 played then (two clean days), 9 now
    assert (city_figures["played"], previous["played"]) == (9, 10)
    assert _text(root, "#totals tr[data-figure='played'] .change") == "▼ 1"
    assert _text(root, "#totals tr[data-figure='failed'] .change") == "▲ 1"
    assert _text(root, "#totals tr[data-figure='emergencies'] .change") == "▲ 1"
    tan_loi = f"#wards tr[data-ward='{TAN_LOI}']"
    assert _text(root, f"{tan_loi} td[data-figure='cancelled'] .change") == "▲ 2"
    s1, s2, s3 = (city.station_ids[k] for k in ("s1", "s2", "s3"))
    assert _text(root, f"#stations tr[data-station='{s3}'] td.outage").startswith(
        "11:59 02/06/2026 – 09:00 03/06/2026 (21 giờ")
    assert _text(root, f"#breakdown tr[data-station='{s2}'] td.reasons") == (
        "Trạm không tải được tệp âm thanh: 1")
    assert set(_all(root, f"#breakdown tr[data-station='{s3}'] td.reasons li")) == {
        "Đã qua giờ phát mà trạm chưa phát được: 1",
        "Trạm trực tuyến nhưng không báo bắt đầu phát: 1"}
    # by name, the most first: two 06:00 bulletins of 120 s, and one 18:00 of 90 s
    assert _all(root, f"#breakdown tr[data-station='{s3}'] td.languages li") == [
        "Tiếng Việt: 4 phút", "Ê Đê: 1 phút 30 giây"]
    assert "Y tế" in _text(root, f"#breakdown tr[data-station='{s1}'] td.topics")


def test_the_charts_name_the_wards_and_stations(client: TestClient, runtime: Runtime,
                                               city: City) -> None:
    root = _page(client, _user(runtime), SPAN)
    wards = root.query("#chart-wards svg")
    assert wards is not None and wards.etree_element.get("role") == "img"
    assert _text(root, "#chart-wards svg title") == "Thời lượng phát sóng theo phường"
    assert sorted(_all(root, "#chart-wards text.label")) == sorted([TAN_LOI, EA_TAM])
    assert EA_TAM in _text(root, "#chart-wards svg desc")
    assert set(_all(root, "#chart-languages text.label")) == {"Tiếng Việt", "Ê Đê"}
    bars = list(root.query_all("#chart-availability g.bar"))
    labels = [bar.etree_element.get("data-label") for bar in bars]
    assert labels[0] == "Trạm buôn Ea Tam"  # offline for most of a day: the lowest first
    assert "low" in bars[0].etree_element.get("class", "")
    assert _all(root, "#chart-availability text.value")[-1] == "100,0%"
    del city


def test_the_buttons_download_the_same_report(client: TestClient, runtime: Runtime,
                                              city: City) -> None:
    root = _page(client, _user(runtime), {**SPAN, "ward": [EA_TAM]})
    links = {a.etree_element.get("id"): a.etree_element.get("href")
             for a in root.query_all("#downloads a")}
    assert set(links) == {"download-xlsx", "download-pdf", "download-csv", "download-json"}
    book = client.get(links["download-xlsx"])  # with the login cookie, as the browser does
    assert book.status_code == 200, book.text
    sheet = openpyxl.load_workbook(io.BytesIO(book.content))["Trạm"]
    names = {row[0] for row in sheet.iter_rows(values_only=True)}
    assert "Trạm buôn Ea Tam" in names and "Trạm chợ Tân Lợi" not in names
    report = client.get(links["download-json"]).json()
    assert (report["from"], report["to"], report["wards_filter"]) == (
        "2026-06-02", "2026-06-04", [EA_TAM])
    del city


def test_the_quick_choices_and_the_default_period(client: TestClient, runtime: Runtime,
                                                  clock: Clock) -> None:
    viewer = _user(runtime)
    root = _page(client, viewer)  # 4 June 2026: the first half of report year 2026
    assert _all(root, "#quick-periods button") == [
        "6 tháng đầu năm 2026", "6 tháng cuối năm 2026", "Năm 2026",
        "6 tháng đầu năm 2025", "6 tháng cuối năm 2025", "Năm 2025"]
    assert _text(root, "#quick-periods button[aria-pressed=true]") == "6 tháng đầu năm 2026"
    assert _text(root, "#report-dates") == "15/12/2025 – 14/06/2026"
    # a quick choice wins over the dates the form also sends
    root = _page(client, viewer, {"period": "2025", **SPAN})
    assert _text(root, "#report-title") == "Năm 2025"
    assert _text(root, "#report-dates") == "15/12/2024 – 14/12/2025"
    assert root.query("input[name=from]").etree_element.get("value") == "2024-12-15"
    root = _page(client, viewer, SPAN)
    assert _text(root, "#report-title") == "Từ 02/06/2026 đến 04/06/2026"
    assert root.query("#quick-periods button[aria-pressed=true]") is None
    clock.at(clock.now.replace(year=2026, month=12, day=20))  # past 15 December: 2027
    root = _page(client, viewer)
    assert _all(root, "#quick-periods button")[0] == "6 tháng đầu năm 2027"


@pytest.mark.parametrize(("params", "status", "message"), [
    ({"from": "2026-06-04", "to": "2026-06-02"}, 422, "Ngày kết thúc trước ngày bắt đầu"),
    ({"from": "2020-01-01", "to": "2026-01-01"}, 422, "Kỳ báo cáo dài quá 3 năm"),
    ({"from": "2026-02-31", "to": "2026-03-02"}, 422, "Ngày không hợp lệ ở trường from"),
    ({"from": "2026-06-02"}, 422, "Thiếu ngày to"),
    ({"period": "2026-H3"}, 422, "Kỳ báo cáo không hợp lệ"),
    ({**SPAN, "ward": "Phường không có"}, 404, "Không có trạm nào thuộc phường Phường không có"),
], ids=["backwards", "too-long", "no-such-day", "no-to", "bad-half", "unknown-ward"])
def test_bad_requests_are_told_in_the_page_in_vietnamese(
        client: TestClient, runtime: Runtime, params: dict[str, str], status: int,
        message: str) -> None:
    root = _page(client, _user(runtime), params, status=status)
    error = _text(root, "#report-error")
    assert error.startswith(message) and " — " not in error, error
    assert root.query("#report-form") is not None and root.query("#totals") is None


def test_english_for_a_reader_who_chose_it(client: TestClient, runtime: Runtime,
                                           city: City) -> None:
    root = _page(client, _user(runtime, language="en"), {"period": "2026-H1"})
    assert _text(root, "h1") == "Activity report"
    assert _text(root, "#report-title") == "First half of 2026"
    assert _text(root, "#totals tr[data-figure='planned'] td") == "Planned"
    assert _text(root, "#chart-availability figcaption") == "Availability by station"
    error = _page(client, _user(runtime, language="en"), {"from": "2026-06-04",
                                                          "to": "2026-06-02"}, status=422)
    assert _text(error, "#report-error") == "`to` is before `from`"
    del city


def test_a_ward_limited_user_sees_only_their_wards_in_the_page(
        client: TestClient, runtime: Runtime, city: City) -> None:
    limited = _user(runtime, wards=[EA_TAM])
    token = client.post("/api/v1/auth/token", data={"username": limited, "password": PASSWORD})
    client.cookies.set(SESSION_COOKIE, token.json()["access_token"])
    answer = client.get("/reports", params=SPAN)
    assert answer.status_code == 200 and "Tân Lợi" not in answer.text
    root = cssselect2.ElementWrapper.from_html_root(tinyhtml5.parse(answer.text))
    assert _all(root, "#ward-choices label") == [EA_TAM]
    assert _all(root, "#stations tbody th") == ["Trạm buôn Ea Tam"]
    refused = client.get("/reports", params={**SPAN, "ward": [TAN_LOI]})
    assert refused.status_code == 403 and "Tân Lợi" not in refused.text.replace(
        "T%C3%A2n%20L%E1%BB%A3i", "")
    assert "Phường này nằm ngoài phạm vi của bạn" in refused.text
    del city


@pytest.mark.parametrize("role", ["admin", "editor", "approver", "viewer"])
def test_every_role_finds_the_reports_in_the_menu(client: TestClient, runtime: Runtime,
                                                  clock: Clock, role: str) -> None:
    root = _page(client, _user(runtime, role), {"from": date(2026, 6, 1).isoformat(),
                                                "to": date(2026, 6, 1).isoformat()})
    link = root.query("nav.menu a#nav-reports")
    assert link is not None and link.etree_element.get("href") == "/reports"
    assert _text(root, "nav.menu a#nav-reports") == "Báo cáo"
    assert link.etree_element.get("aria-current") == "page"


def test_a_city_of_many_stations_charts_those_most_offline_and_says_so() -> None:
    stations = [StationFigures(station_id=n, name=f"Trạm {n:03d}", ward="Phường A",
                               timezone="Asia/Ho_Chi_Minh", availability=n / 100)
                for n in range(1, 101)]
    report = ActivityReport(**{"from": FIRST}, to=LAST, timezone="Asia/Ho_Chi_Minh",
                            title="", generated_at=REPORTED_AT, totals=Figures(),
                            wards=[], stations=stations)
    chart = charts.availability(report, Reader(lang="vi", zone="Asia/Ho_Chi_Minh",
                                               names=built_in("vi")))
    assert len(chart.bars) == charts.MAX_BARS and chart.total == 100
    assert [bar.label for bar in chart.bars[:2]] == ["Trạm 001", "Trạm 002"]  # lowest first
    assert all(bar.low for bar in chart.bars)  # all 40 under 90%
    assert chart.note == ("Màu đỏ: trạm hoạt động dưới 90,0% thời gian. "
                          "40 mục đầu trong số 100; các bảng dưới đây liệt kê đầy đủ.")
    assert chart.height == charts.MAX_BARS * charts.ROW_HEIGHT
