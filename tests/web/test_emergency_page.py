"""The emergency page in Chromium: an approver sends one to a running agent and watches it
start; editors and viewers cannot reach it."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ViewportSize, expect

from tests.support.server import start_agent
from tests.web.conftest import (
    VIEWPORTS,
    Pages,
    api_as,
    approve_through_api,
    register_station,
    upload_through_api,
)


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


@pytest.fixture
def approved(pages: Pages, speech: Path) -> dict[str, Any]:
    bulletin = upload_through_api(pages.server, pages.accounts["editor"], speech,
                                  title=unique("Cảnh báo lũ"))
    approve_through_api(pages.server, pages.accounts["approver"], bulletin["id"])
    return bulletin


def wait_online(pages: Pages, station_id: int, *, timeout: float = 30) -> None:
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if api.get(f"/stations/{station_id}").json()["online"]:
                return
            time.sleep(0.2)
    raise AssertionError(f"station {station_id} did not come online")


def test_approver_sends_to_a_running_agent_and_watches_it_start(
        pages: Pages, approved: dict[str, Any], tmp_path: Path) -> None:
    station = register_station(pages.server, unique("Trạm Phường An Khánh"))
    agent, played = start_agent(pages.server, station_id=station["id"], token=station["token"],
                                workdir=tmp_path)
    try:
        wait_online(pages, station["id"])
        page = pages.login("approver")
        page.click("nav.menu >> text=Phát khẩn cấp")
        expect(page.locator("h1")).to_have_text("Phát khẩn cấp")
        page.select_option("select[name=bulletin_id]", str(approved["id"]))
        page.check(f"input[name=station_ids][value='{station['id']}']")
        pages.shot(page, "choose")
        page.click("#emergency-form button[type=submit]")
        expect(page.locator("h1")).to_have_text("Xác nhận phát khẩn cấp")
        expect(page.locator("#confirm-count")).to_have_text("1")
        expect(page.locator("#confirm-stations")).to_have_text(station["name"])
        pages.shot(page, "confirm")
        with api_as(pages.server, pages.accounts["viewer"]) as api:
            sent = api.get("/playbacks", params={"station_id": station["id"]}).json()["items"]
        assert sent == []  # nothing is sent before the confirmation
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#send-now")
        expect(page.locator(".flash")).to_have_text("Đã gửi lệnh phát khẩn cấp tới 1 trạm.")
        page.evaluate("() => { window.notReloaded = true; }")
        row = page.locator(f"#broadcast-stations tr[data-station='{station['id']}']")
        expect(row.locator(".progress .badge")).to_have_attribute(
            "data-status", "played", timeout=60_000)
        expect(row.locator(".progress")).to_have_text("Đã phát")
        expect(page.locator("#broadcast-counts")).to_contain_text("1/1 trạm đã bắt đầu phát")
        assert page.evaluate("() => window.notReloaded") is True  # live, without reloading
        pages.shot(page, "played")
    finally:
        agent.stop()
    assert any(played.iterdir()), "the agent wrote no audio"


def test_started_state_is_shown_while_playing(pages: Pages, approved: dict[str, Any],
                                              tmp_path: Path) -> None:
    station = register_station(pages.server, unique("Trạm Phường Thảo Điền"))
    agent, _played = start_agent(pages.server, station_id=station["id"],
                                 token=station["token"], workdir=tmp_path)
    try:
        wait_online(pages, station["id"])
        page = pages.login("admin")  # admins may do what approvers do
        page.goto("/emergency")
        page.select_option("select[name=bulletin_id]", str(approved["id"]))
        page.check(f"input[name=station_ids][value='{station['id']}']")
        page.fill("input[name=repeat]", "2")
        page.fill("input[name=gap_s]", "2")
        page.click("#emergency-form button[type=submit]")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#send-now")
        badge = page.locator(f"tr[data-station='{station['id']}'] .progress .badge")
        # the poll every 2 s catches the station while it plays (the audio lasts ~8 s)
        expect(badge).to_have_attribute("data-status", "playing", timeout=60_000)
        expect(badge).to_have_text("Đã bắt đầu, đang phát")
        expect(badge).to_have_attribute("data-status", "played", timeout=90_000)
        expect(page.locator(f"tr[data-station='{station['id']}']")).to_contain_text("2/2")
    finally:
        agent.stop()


def test_refusal_keeps_the_choice(pages: Pages, approved: dict[str, Any]) -> None:
    page = pages.login("approver")
    page.goto("/emergency")
    page.select_option("select[name=bulletin_id]", str(approved["id"]))
    page.click("#emergency-form button[type=submit]")  # no station chosen
    expect(page.locator("#form-error")).to_have_text("Cần chọn ít nhất một trạm hoặc nhóm trạm")
    expect(page.locator("select[name=bulletin_id]")).to_have_value(str(approved["id"]))


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editors_and_viewers_cannot_reach_it(pages: Pages, role: str,
                                             approved: dict[str, Any]) -> None:
    station = register_station(pages.server, unique("Trạm Phường 12"))
    page = pages.login(role)
    assert page.locator("nav.menu a[href='/emergency']").count() == 0
    answer = page.goto("/emergency")
    assert answer is not None and answer.status == 403
    expect(page.locator("h1")).to_have_text("Không có quyền")
    # nor can they post the form from a page of the site
    status = page.evaluate("""async ([bulletin, station]) => {
        const body = new URLSearchParams({bulletin_id: bulletin, station_ids: station});
        const answer = await fetch('/emergency', {method: 'POST', body});
        return answer.status; }""", [str(approved["id"]), str(station["id"])])
    assert status == 403
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        assert not api.get("/playbacks", params={"station_id": station["id"]}).json()["items"]


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_emergency_pages_fit(pages: Pages, viewport: ViewportSize,
                             approved: dict[str, Any]) -> None:
    station = register_station(pages.server, unique("Trạm Phường Bình An"))
    page = pages.at("/emergency", role="approver", viewport=viewport, name="choose")
    page.select_option("select[name=bulletin_id]", str(approved["id"]))
    page.check("#everyone")
    page.click("#emergency-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Xác nhận phát khẩn cấp")
    expect(page.locator("#confirm-stations")).to_contain_text(station["name"])
    pages.shot(page, "confirm")
