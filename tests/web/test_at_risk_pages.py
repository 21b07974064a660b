"""At risk and missed, in Vietnamese, on the home page, the station dashboard and the log
(Chromium, a real scheduler; a station whose agent never connected)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.support.procs import wait_for
from tests.web.conftest import (
    PHONE,
    Pages,
    api_as,
    approve_through_api,
    upload_through_api,
)
from wardcast.protocol import to_wire

BANGKOK = ZoneInfo("Asia/Bangkok")  # the station's zone; not the scheduler's (Ho Chi Minh)
NO_PLAN = "Trạm chưa nhận được kế hoạch phát"
NEVER = "Kế hoạch phát chưa đến được trạm: trạm chưa kết nối lần nào"


@pytest.fixture(scope="module")
def unreached(web_server: Any, accounts: dict[str, str], speech: Path) -> dict[str, Any]:
    """A station nobody ever connected: one slot just past (missed), one in five minutes."""
    tag = uuid.uuid4().hex[:6]
    ward = f"Phường Ea Tam {tag}"
    with web_server.api() as admin:
        answer = admin.post("/stations", json={"name": f"Trạm Ea Tam {tag}", "ward": ward,
                                               "timezone": "Asia/Bangkok"})
        answer.raise_for_status()
        station = answer.json()
    missed = upload_through_api(web_server, accounts["editor"], speech, title=f"Lỡ {tag}")
    risky = upload_through_api(web_server, accounts["editor"], speech, title=f"Sắp phát {tag}")
    for bulletin in (missed, risky):
        approve_through_api(web_server, accounts["approver"], bulletin["id"])
    with api_as(web_server, accounts["editor"]) as api:
        later = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
        soon = datetime.now(UTC) + timedelta(seconds=3)
        for bulletin, at in ((missed, soon), (risky, later)):
            api.post("/timetables", json={"bulletin_id": bulletin["id"], "starts_at": to_wire(at),
                                          "station_ids": [station["id"]]}).raise_for_status()

        def rows() -> dict[int, dict[str, Any]]:
            found = api.get("/playbacks", params={"station_id": station["id"]}).json()["items"]
            return {int(r["bulletin_id"]): r for r in found}

        wait_for(lambda: rows()[missed["id"]]["status"] == "missed", timeout=60,
                 what="the slot of a station that never connected to be missed")
        by_bulletin = rows()
    return {"station": station, "ward": ward, "missed": missed, "risky": risky,
            "missed_row": by_bulletin[missed["id"]], "risky_row": by_bulletin[risky["id"]],
            "later": later.astimezone(BANGKOK).strftime("%H:%M:%S %d/%m/%Y")}


def test_home_page_shows_what_is_at_risk_and_what_was_missed(pages: Pages,
                                                             unreached: dict[str, Any]) -> None:
    data = unreached
    page = pages.login("viewer")
    risk = page.locator(f"#at-risk tr[data-playback='{data['risky_row']['id']}']")
    expect(page.locator("#at-risk h2")).to_have_text("Có nguy cơ bị lỡ")
    expect(risk).to_contain_text(data["station"]["name"])
    expect(risk).to_contain_text(data["risky"]["title"])
    # the station's own time, saying whose: its zone is not the city's
    expect(risk).to_contain_text(f"{data['later']} (giờ Bangkok)")
    expect(risk).to_contain_text(NO_PLAN)
    missed = page.locator(f"#trouble tr[data-playback='{data['missed_row']['id']}']")
    expect(missed).to_contain_text("Bị lỡ")
    expect(missed.locator(".reason")).to_have_text(NEVER)
    assert missed.locator(".reason").get_attribute("data-reason") == data["missed_row"]["reason"]
    pages.shot(page, "home")
    page.click("#at-risk a.badge.at-risk")
    expect(page.locator("input[name=at_risk]")).to_be_checked()
    expect(page.locator(f"#playbacks tr[data-playback='{data['risky_row']['id']}']")
           ).to_contain_text(data["risky"]["title"])
    expect(page.locator(f"#playbacks tr[data-playback='{data['missed_row']['id']}']")
           ).to_have_count(0)
    page.goto(f"/log?status=missed&station_id={data['station']['id']}")
    expect(page.locator(f"#playbacks tr[data-playback='{data['missed_row']['id']}'] .reason")
           ).to_have_text(NEVER)
    phone = pages.login("viewer", viewport=PHONE)
    expect(phone.locator("#at-risk")).to_contain_text(data["risky"]["title"])
    pages.shot(phone, "home")


def test_dashboard_shows_the_stations_at_risk(pages: Pages, unreached: dict[str, Any]) -> None:
    data = unreached
    page = pages.login("viewer")
    page.goto(f"/stations?ward={data['ward']}")
    cell = page.locator(f"tr[data-station='{data['station']['id']}'] td.at-risk")
    expect(cell.locator("a.badge.at-risk")).to_have_text("1")
    expect(cell).to_contain_text(data["later"])
    expect(cell).to_contain_text(data["risky"]["title"])
    expect(cell).to_contain_text(NO_PLAN)
    expect(page.locator("#station-counts")).to_contain_text("1 lượt có nguy cơ bị lỡ")
    pages.shot(page, "dashboard")
    cell.locator("a.badge.at-risk").click()
    expect(page.locator(f"#playbacks tr[data-playback='{data['risky_row']['id']}']")
           ).to_be_visible()
