"""The Báo cáo page in Chromium: a supervisor opens it from the menu, picks a period, reads the
tables and charts and downloads the XLSX and PDF; a ward-limited user sees only their ward;
a phone's width. The figures come from real agents playing on a real `wardcast serve`."""

from __future__ import annotations

import io
import subprocess
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from scheduler.reports import periods
from scheduler.reports.cutoffs import Cutoffs
from tests.support.procs import Proc, wait_for
from tests.support.server import Server, start_agent
from tests.web.conftest import (
    PASSWORD,
    PHONE,
    Pages,
    api_as,
    approve_through_api,
    upload_through_api,
)
from wardcast.protocol import to_wire

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the server's WARDCAST_TIMEZONE (the default)
FINAL = {"played", "interrupted", "missed", "failed", "skipped", "cancelled"}


@dataclass
class City:
    tag: str
    wards: tuple[str, str]  # Tân Lợi (one station, playing), Ea Tam (one playing, one absent)
    stations: dict[str, dict[str, Any]]  # "cho", "buon", "absent"
    day: date  # the local day the slots fell on
    limited: str  # a viewer limited to Ea Tam


@pytest.fixture(scope="module")
def city(web_server: Server, accounts: dict[str, str], speech: Path,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    """Two wards' stations play a Vietnamese and an Ê Đê bulletin through real agents; a third
    station never connects and misses its slot."""
    tag = uuid.uuid4().hex[:6]
    wards = (f"Phường Tân Lợi {tag}", f"Phường Ea Tam {tag}")
    stations = {}
    with web_server.api() as admin:
        for key, name, ward in (("cho", "Trạm chợ Tân Lợi", wards[0]),
                                ("buon", "Trạm buôn Ea Tam", wards[1]),
                                ("absent", "Trạm chưa lắp", wards[1])):
            answer = admin.post("/stations", json={"name": f"{name} {tag}", "ward": ward})
            answer.raise_for_status()
            stations[key] = answer.json()
        limited = f"viewer-ea-tam-{tag}"
        admin.post("/users", json={"username": limited, "password": PASSWORD,
                                   "role": "viewer", "wards": [wards[1]]}).raise_for_status()
    vietnamese = upload_through_api(web_server, accounts["editor"], speech,
                                    title=f"Bản tin y tế {tag}", topic="y-te")
    ede = upload_through_api(web_server, accounts["editor"], speech, language="rad",
                             title=f"Bản tin tiếng Ê Đê {tag}", topic="giam-ngheo")
    for bulletin in (vietnamese, ede):  # the two-person rule: someone else approves
        approve_through_api(web_server, accounts["approver"], bulletin["id"])
    work = tmp_path_factory.mktemp("report-agents")
    agents: list[Proc] = []
    for key in ("cho", "buon"):
        proc, _ = start_agent(web_server, station_id=stations[key]["id"],
                              token=stations[key]["token"], workdir=work)
        agents.append(proc)
    try:
        with api_as(web_server, accounts["editor"]) as api:
            for key in ("cho", "buon"):
                wait_for(lambda key=key: api.get(f"/stations/{stations[key]['id']}").json()[
                    "online"], timeout=60, what=f"station {key} online")
            first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
            gap = timedelta(milliseconds=int(vietnamese["duration_ms"]) + 2000)
            for bulletin, keys, at in ((vietnamese, ("cho", "buon", "absent"), first),
                                       (ede, ("buon",), first + gap)):
                api.post("/timetables", json={
                    "bulletin_id": bulletin["id"], "starts_at": to_wire(at),
                    "station_ids": [stations[k]["id"] for k in keys]}).raise_for_status()

            def rows() -> list[dict[str, Any]]:
                return [row for key in stations for row in api.get("/playbacks", params={
                    "station_id": stations[key]["id"]}).json()["items"]]

            wait_for(lambda: len(rows()) == 4 and all(r["status"] in FINAL for r in rows()),
                     timeout=120, what="the four slots to end")
            slots = rows()
        assert sorted(r["status"] for r in slots) == ["missed", "played", "played", "played"]
        day = datetime.fromisoformat(slots[0]["scheduled_at"]).astimezone(ZONE).date()
        yield City(tag, wards, stations, day, limited)
    finally:
        for proc in agents:
            proc.stop()


def _pick_wards(page: Page, wards: tuple[str, ...]) -> None:
    for ward in wards:
        page.locator("#ward-choices label.choice", has_text=ward).locator("input").check()


def _downloaded(page: Page, button: str) -> bytes:
    with page.expect_download() as waiting:
        page.click(button)
    return Path(waiting.value.path()).read_bytes()


def _pdf_text(data: bytes, folder: Path) -> str:
    path = folder / f"{uuid.uuid4().hex}.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True,
                          check=True, text=True).stdout
    return "".join(unicodedata.normalize("NFC", text).split())  # names may wrap


def _squeezed(text: str) -> str:
    return "".join(text.split())


def _station_names(data: bytes) -> set[str]:
    """The names in the workbook's sheet of stations (the rows under its heading)."""
    rows = list(load_workbook(io.BytesIO(data))["Trạm"].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row[0] == "Tên trạm")
    names = []
    for row in rows[start + 1:]:
        if row[0] is None:
            break
        names.append(str(row[0]))
    return set(names)


def test_a_supervisor_reads_the_report_and_downloads_it(pages: Pages, city: City,
                                                        tmp_path: Path) -> None:
    page = pages.login("viewer")
    page.click("nav.menu >> text=Báo cáo")
    expect(page.locator("h1")).to_have_text("Báo cáo hoạt động")
    expect(page.locator("#nav-reports")).to_have_attribute("aria-current", "page")
    half = periods.current_half(city.day, timezone="Asia/Ho_Chi_Minh", cutoffs=Cutoffs())
    _pick_wards(page, city.wards)
    page.click(f"#quick-periods button[data-period='{half.name}']")
    expect(page.locator("#report-title")).to_have_text(half.title())
    expect(page.locator("#report-dates")).to_have_text(
        f"{half.first:%d/%m/%Y} – {half.last:%d/%m/%Y}")
    expect(page.locator("#report-wards")).to_have_text(", ".join(sorted(city.wards)))

    # then any dates: the day before the slots to the day after
    page.fill("input[name=from]", (city.day - timedelta(days=1)).isoformat())
    page.fill("input[name=to]", (city.day + timedelta(days=1)).isoformat())
    page.click("#show-report")
    span = f"{city.day - timedelta(days=1):%d/%m/%Y} – {city.day + timedelta(days=1):%d/%m/%Y}"
    expect(page.locator("#report-dates")).to_have_text(span)
    expect(page.locator("#ward-choices input:checked")).to_have_count(2)
    stations = page.locator("#stations tbody tr")
    expect(stations).to_have_count(3)
    absent = page.locator(f"#stations tr[data-station='{city.stations['absent']['id']}']")
    expect(absent.locator("td[data-figure=missed]")).to_have_text("1")
    expect(absent.locator("td[data-figure=availability]")).to_have_text("0,0%")
    buon = page.locator(f"#stations tr[data-station='{city.stations['buon']['id']}']")
    expect(buon.locator("td[data-figure=played]")).to_have_text("2")
    expect(buon.locator("td[data-figure=bulletins]")).to_have_text("2")
    expect(page.locator("#totals tr[data-figure=played] td.now")).to_have_text("3")
    expect(page.locator("#totals tr[data-figure=played] .change")).to_have_text("▲ 3")
    reasons = page.locator(f"#breakdown tr[data-station='{city.stations['absent']['id']}']")
    expect(reasons.locator("td.reasons")).to_have_text("Kế hoạch phát chưa đến được trạm: 1")
    # by name, the most first: Vietnamese went out on two stations, Ê Đê on one
    languages = page.locator("#breakdown tr[data-level=city] td.languages li")
    expect(languages).to_have_count(2)
    expect(languages.first).to_contain_text("Tiếng Việt: ")
    expect(languages.nth(1)).to_contain_text("Ê Đê: ")

    # the charts: inline SVG with their titles and every ward's and station's name
    for chart, title in (("chart-wards", "Thời lượng phát sóng theo phường"),
                         ("chart-languages", "Thời lượng phát sóng theo ngôn ngữ"),
                         ("chart-topics", "Thời lượng phát sóng theo chủ đề"),
                         ("chart-availability", "Tỷ lệ hoạt động của từng trạm")):
        expect(page.locator(f"#{chart} svg[role=img]")).to_be_visible()
        expect(page.locator(f"#{chart} svg title")).to_have_text(title)
    for ward in city.wards:
        expect(page.locator("#chart-wards text.label", has_text=ward)).to_have_count(1)
    expect(page.locator("#chart-topics text.label", has_text="Giảm nghèo bền vững")
           ).to_have_count(1)
    bars = page.locator("#chart-availability g.bar")
    expect(bars.first).to_have_attribute("data-label", city.stations["absent"]["name"])
    expect(bars.first).to_have_class("bar low")
    pages.shot(page, "report")

    book = _downloaded(page, "#download-xlsx")
    assert _station_names(book) == {s["name"] for s in city.stations.values()}
    text = _pdf_text(_downloaded(page, "#download-pdf"), tmp_path)
    assert "BÁOCÁO" in text and "Tìnhhìnhhoạtđộngthôngtincơsở" in text
    for station in city.stations.values():
        assert _squeezed(station["name"]) in text, station["name"]


def test_errors_are_told_in_the_page(pages: Pages, city: City) -> None:
    page = pages.login("viewer")
    page.goto("/reports")
    page.fill("input[name=from]", city.day.isoformat())
    page.fill("input[name=to]", (city.day - timedelta(days=2)).isoformat())
    page.click("#show-report")
    expect(page.locator("#report-error")).to_have_text(
        "Ngày kết thúc trước ngày bắt đầu")
    page.fill("input[name=from]", "2020-01-01")
    page.fill("input[name=to]", city.day.isoformat())
    page.press("input[name=to]", "Enter")  # sends the dates, not the first quick choice
    expect(page.locator("#report-error")).to_contain_text("Kỳ báo cáo dài quá 3 năm")
    expect(page.locator("#totals")).to_have_count(0)


def test_a_ward_limited_user_sees_only_their_ward(pages: Pages, city: City,
                                                  tmp_path: Path) -> None:
    page = pages.login("viewer", username=city.limited)
    page.click("#nav-reports")
    page.fill("input[name=from]", city.day.isoformat())
    page.fill("input[name=to]", city.day.isoformat())
    page.click("#show-report")
    expect(page.locator("#ward-choices label.choice")).to_have_text([city.wards[1]])
    expect(page.locator("#stations tbody tr")).to_have_count(2)
    expect(page.locator("#chart-wards text.label")).to_have_text([city.wards[1]])
    assert "Tân Lợi" not in page.content()
    pages.shot(page, "report-ward-limited")
    mine = {city.stations[key]["name"] for key in ("buon", "absent")}
    assert _station_names(_downloaded(page, "#download-xlsx")) == mine
    text = _pdf_text(_downloaded(page, "#download-pdf"), tmp_path)
    assert "TânLợi" not in text and all(_squeezed(name) in text for name in mine)


def test_the_report_fits_a_phone(pages: Pages, city: City) -> None:
    page = pages.login("viewer", viewport=PHONE)
    wards = "&".join(f"ward={ward}" for ward in city.wards)
    page.goto(f"/reports?from={city.day.isoformat()}&to={city.day.isoformat()}&{wards}")
    expect(page.locator("#chart-availability svg")).to_be_visible()
    expect(page.locator("#download-pdf")).to_be_visible()
    pages.shot(page, "report")  # and nothing scrolls sideways
