"""The playback log page and the home page's warnings, in Chromium."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.support.procs import wait_for
from tests.web.conftest import (
    VIEWPORTS,
    Pages,
    ViewportSize,
    api_as,
    approve_through_api,
    register_station,
    upload_through_api,
)
from wardcast.protocol import to_wire


@pytest.fixture(scope="module")
def missed_and_planned(web_server: Any, accounts: dict[str, str], speech: Path
                       ) -> dict[str, Any]:
    """A station with no agent: one slot that passes (missed) and 55 planned tomorrow."""
    tag = uuid.uuid4().hex[:6]
    station = register_station(web_server, f"Trạm Phú Hòa {tag}")
    other = register_station(web_server, f"Trạm Tân Lập {tag}")
    missed = upload_through_api(web_server, accounts["editor"], speech, title=f"Bị lỡ {tag}")
    planned = upload_through_api(web_server, accounts["editor"], speech, title=f"Ngày mai {tag}")
    for bulletin in (missed, planned):
        approve_through_api(web_server, accounts["approver"], bulletin["id"])
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=1, minute=0, second=0,
                                                               microsecond=0)
    with api_as(web_server, accounts["editor"]) as api:
        # a few seconds ahead, taken just before the request: a busy machine must not make
        # the slot pass before the timetable arrives (it would be refused as past)
        soon = datetime.now(UTC) + timedelta(seconds=3)
        for body in ({"bulletin_id": missed["id"], "station_ids": [station["id"]],
                      "starts_at": to_wire(soon)},
                     {"bulletin_id": planned["id"], "station_ids": [station["id"]],
                      "starts_at": to_wire(tomorrow), "recurrence": "FREQ=MINUTELY;COUNT=55"},
                     {"bulletin_id": planned["id"], "station_ids": [other["id"]],
                      "starts_at": to_wire(tomorrow)}):
            api.post("/timetables", json=body).raise_for_status()

        def is_missed() -> bool:
            rows = api.get("/playbacks", params={"bulletin_id": missed["id"]}).json()["items"]
            return bool(rows) and rows[0]["status"] == "missed"

        wait_for(is_missed, timeout=60, what="the slot with no agent to be missed")
    with web_server.api() as admin:
        group = admin.post("/groups", json={"name": f"Cụm {tag}", "station_ids": [other["id"]]})
        group.raise_for_status()
    return {"tag": tag, "station": station, "other": other, "missed": missed,
            "planned": planned, "group": group.json(),
            "slot_day": tomorrow.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()}


def test_missed_playbacks_stand_out_on_the_home_page(pages: Pages,
                                                     missed_and_planned: dict[str, Any]) -> None:
    page = pages.login("viewer")
    trouble = page.locator("#trouble")
    expect(trouble).to_have_class("card alert")
    expect(trouble).to_contain_text(missed_and_planned["missed"]["title"])
    expect(trouble).to_contain_text("Bị lỡ")
    pages.shot(page, "home-missed")
    page.click("#trouble a.badge.missed")
    expect(page.locator("select[name=status]")).to_have_value("missed")
    expect(page.locator("#playbacks")).to_contain_text(missed_and_planned["missed"]["title"])


def test_log_filters_by_status_station_bulletin_and_group(
        pages: Pages, missed_and_planned: dict[str, Any]) -> None:
    data = missed_and_planned
    page = pages.login("viewer")
    page.goto("/log")
    page.select_option("select[name=bulletin_id]", str(data["missed"]["id"]))
    page.click("#log-filters button[type=submit]")
    rows = page.locator("#playbacks tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Bị lỡ")
    expect(rows).to_contain_text(data["station"]["name"])
    page.goto("/log")
    page.select_option("select[name=station_id]", str(data["station"]["id"]))
    page.select_option("select[name=status]", "planned")
    page.click("#log-filters button[type=submit]")
    expect(page.locator("nav.pager")).to_contain_text("1–50 trong tổng số 55")
    page.goto("/log")
    page.select_option("select[name=group_id]", str(data["group"]["id"]))
    page.click("#log-filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(data["other"]["name"])
    expect(rows).to_contain_text("Đã lên lịch")
    pages.shot(page, "log-group")


def test_log_date_range_and_paging(pages: Pages, missed_and_planned: dict[str, Any]) -> None:
    data = missed_and_planned
    page = pages.login("viewer")
    bulletin = data["planned"]["id"]
    page.goto(f"/log?bulletin_id={bulletin}&station_id={data['station']['id']}")
    expect(page.locator("#playbacks tbody tr")).to_have_count(50)
    page.click("a[rel=next]")
    expect(page.locator("#playbacks tbody tr")).to_have_count(5)
    assert f"bulletin_id={bulletin}" in page.url
    # days are the station's days: all 56 slots fall on one of them, none on the day before
    day = data["slot_day"]
    page.goto(f"/log?bulletin_id={bulletin}")
    page.fill("input[name=from]", day.isoformat())
    page.fill("input[name=to]", day.isoformat())
    page.click("#log-filters button[type=submit]")
    expect(page.locator("nav.pager")).to_contain_text("1–50 trong tổng số 56")
    page.fill("input[name=from]", (day - timedelta(days=1)).isoformat())
    page.fill("input[name=to]", (day - timedelta(days=1)).isoformat())
    page.click("#log-filters button[type=submit]")
    expect(page.locator("#playbacks")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("Không có lượt phát nào phù hợp")


def test_csv_download_has_the_same_rows(pages: Pages,
                                        missed_and_planned: dict[str, Any]) -> None:
    data = missed_and_planned
    page = pages.login("viewer")
    page.goto(f"/log?bulletin_id={data['planned']['id']}&status=planned")
    with page.expect_download() as waiting:
        page.click("#csv")
    text = Path(waiting.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 56
    assert {r["status"] for r in rows} == {"planned"}
    assert {int(r["bulletin_id"]) for r in rows} == {data["planned"]["id"]}


def test_the_log_downloads_csv_and_xlsx_that_people_can_read(
        pages: Pages, missed_and_planned: dict[str, Any]) -> None:
    data = missed_and_planned
    page = pages.login("viewer")
    page.goto(f"/log?bulletin_id={data['missed']['id']}")
    expect(page.locator("#csv")).to_have_text("Tải về CSV")
    expect(page.locator("#xlsx")).to_have_text("Tải về Excel (XLSX)")
    pages.shot(page, "log-downloads")
    with page.expect_download() as waiting:
        page.click("#csv")
    assert waiting.value.suggested_filename == "playbacks.csv"
    raw = Path(waiting.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Vietnamese
    [row] = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert (row["Trạm"], row["Bản tin"]) == (data["station"]["name"], data["missed"]["title"])
    assert (row["status"], row["Trạng thái"]) == ("missed", "Bị lỡ")
    with page.expect_download() as waiting:
        page.click("#xlsx")
    assert waiting.value.suggested_filename == "playbacks.xlsx"
    sheet = load_workbook(io.BytesIO(Path(waiting.value.path()).read_bytes())).worksheets[0]
    header, *rows = [[cell.value for cell in line] for line in sheet.iter_rows()]
    [cells] = [dict(zip(header, line, strict=True)) for line in rows]
    assert (cells["Trạm"], cells["Bản tin"], cells["Trạng thái"]) == (
        data["station"]["name"], data["missed"]["title"], "Bị lỡ")
    assert cells["id"] == int(row["id"])


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_log_and_home_fit(pages: Pages, missed_and_planned: dict[str, Any],
                          viewport: ViewportSize) -> None:
    page = pages.login("viewer", viewport=viewport)
    pages.shot(page, "home")
    page.goto("/log")
    pages.shot(page, "log")
