"""Station pages in Chromium: the live dashboard follows a real agent; a token is shown once."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import ViewportSize, expect

from tests.support.server import start_agent
from tests.web.conftest import PHONE, VIEWPORTS, Pages, register_station

# the dashboard polls every 5 s; an agent needs a few seconds to connect or to be seen gone
LIVE_TIMEOUT_MS = 30_000


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


def test_dashboard_follows_a_running_agent_without_reload(pages: Pages, tmp_path: Path) -> None:
    station = register_station(pages.server, unique("Trạm Phường Bến Nghé"))
    row = f"tr[data-station='{station['id']}']"
    agent, _played = start_agent(pages.server, station_id=station["id"], token=station["token"],
                                 workdir=tmp_path)
    try:
        page = pages.login("viewer")
        page.goto("/stations")
        expect(page.locator("h1")).to_have_text("Trạm")
        assert page.locator("#register-station").count() == 0  # only admins register
        page.evaluate("() => { window.notReloaded = true; }")
        expect(page.locator(f"{row} .state")).to_have_text("Trực tuyến", timeout=LIVE_TIMEOUT_MS)
        expect(page.locator(f"{row} .last-seen")).to_have_text(
            re.compile(r"^\d\d:\d\d:\d\d \d\d/\d\d/\d{4}$"))
        # the agent reports its clock offset with its heartbeats; said in words, not in ms
        expect(page.locator(f"{row} .clock")).to_have_text(re.compile(
            r"^(Trạm chưa gửi thông tin đồng hồ|Đồng hồ trạm đúng giờ)$"))
        expect(page.locator(f"{row} a.station-link")).to_have_attribute(
            "href", f"/stations/{station['id']}")
        pages.shot(page, "online")
    finally:
        agent.stop()
    expect(page.locator(f"{row} .state")).to_have_text("Ngoại tuyến", timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("() => window.notReloaded") is True  # updated in place, no reload
    pages.shot(page, "offline")


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_register_shows_the_token_once(pages: Pages, viewport: ViewportSize) -> None:
    name = unique("Trạm Tân Định")
    page = pages.login("admin", viewport=viewport)
    page.goto("/stations")
    pages.shot(page, "dashboard")
    page.click("#register-station")
    pages.shot(page, "register-form")
    page.fill("input[name=name]", name)
    page.fill("input[name=ward]", "Phường Tân Định")
    page.click("#station-form button[type=submit]")
    expect(page.locator("h1")).to_have_text(f"Đã đăng ký trạm: {name}")
    expect(page.locator("#token-warning")).to_contain_text("sẽ không được hiển thị lại")
    token = page.input_value("#token")
    station_id = page.inner_text("#station-id")
    pages.shot(page, "token")
    # the token works for the station (the agent's own API)...
    answer = httpx.get(f"{pages.server.base}/api/v1/agent/time",
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    # ...and appears nowhere again
    page.click("text=Quay lại danh sách trạm")
    expect(page.locator(f"tr[data-station='{station_id}']")).to_contain_text(name)
    assert token not in page.content()


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_the_dashboard_gives_a_calendar_address(pages: Pages, viewport: ViewportSize) -> None:
    name = unique("Trạm Bến Thành")
    station = register_station(pages.server, name)
    page = pages.login("viewer", viewport=viewport)
    page.goto("/stations")
    page.click(f"tr[data-station='{station['id']}'] a.calendar")
    expect(page.locator("h1")).to_have_text(f"Lịch phát: {name}")
    expect(page.locator("#no-feeds")).to_be_visible()
    page.fill("#feed-form input[name=name]", "Điện thoại chủ tịch")
    page.click("#new-feed")
    expect(page.locator("#feed-created")).to_contain_text("sẽ không được hiển thị lại")
    address = page.input_value("#feed-url")
    pages.shot(page, "feed")
    answer = httpx.get(address)  # what a calendar app does: no header, no cookie
    assert answer.status_code == 200 and f"wardcast – {name}" in answer.text
    page.goto(f"/stations/{station['id']}/feeds")
    expect(page.locator("#feeds")).to_contain_text("Điện thoại chủ tịch")
    assert address not in page.content()  # shown once
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#feeds button.revoke")
    expect(page.locator(".flash")).to_contain_text("Đã thu hồi địa chỉ lịch")
    assert httpx.get(address).status_code == 401


def test_register_refusal_keeps_the_input(pages: Pages) -> None:
    name = unique("Trạm Đa Kao")
    register_station(pages.server, name)
    page = pages.login("admin", viewport=PHONE)
    page.goto("/stations/new")
    page.fill("input[name=name]", name)
    page.fill("input[name=ward]", "Phường Đa Kao")
    page.click("#station-form button[type=submit]")
    expect(page.locator("#form-error")).to_have_text(f"Trạm {name} đã tồn tại")
    expect(page.locator("input[name=name]")).to_have_value(name)
    expect(page.locator("input[name=ward]")).to_have_value("Phường Đa Kao")
    pages.shot(page, "refused")


def test_only_admins_register_stations(pages: Pages) -> None:
    page = pages.login("editor")
    answer = page.goto("/stations/new")
    assert answer is not None and answer.status == 403
    expect(page.locator("h1")).to_have_text("Không có quyền")


def test_clock_offset_reads_naturally() -> None:
    from scheduler.web.stations import clock_offset

    assert clock_offset(None, "vi") == "—"
    assert clock_offset(0, "vi") == "±0 ms"
    assert clock_offset(120, "vi") == "+120 ms"
    assert clock_offset(-1500, "vi") == "−1,5 s"
    assert clock_offset(-1500, "en") == "−1.5 s"


def test_the_uncertainty_reads_as_plus_or_minus() -> None:
    from scheduler.web.stations import clock_uncertainty

    assert clock_uncertainty(None, "vi") == ""  # an older agent does not say
    assert clock_uncertainty(4, "vi") == "±4 ms"
    assert clock_uncertainty(1500, "vi") == "±1,5 s"


@pytest.mark.parametrize(("offset", "uncertainty", "warn"), [
    (None, None, False),
    (1500, 600, False),  # might be 900 ms: not surely off
    (-1500, 400, True),
    (-1200, None, True),  # from an older agent: taken as exact
    (1000, 0, False),  # the limit itself, as the agent has it
])
def test_the_dashboard_warns_of_a_clock_only_when_surely_over_a_second(
        offset: int | None, uncertainty: int | None, warn: bool) -> None:
    from scheduler.stations.models import Station
    from scheduler.web.stations import Row

    station = Station(clock_offset_ms=offset, clock_uncertainty_ms=uncertainty)
    assert Row(station, None, 0, 0).clock_warning is warn


def test_dashboard_filters_by_ward(pages: Pages) -> None:
    mine = register_station(pages.server, unique("Trạm Phường Cô Giang"))
    other = register_station(pages.server, unique("Trạm Phường Cầu Kho"))
    page = pages.login("viewer", viewport=PHONE)
    page.goto("/stations")
    page.fill("#station-filters input[name=ward]", mine["ward"])
    page.click("#station-filters button[type=submit]")
    expect(page.locator("#stations tbody tr")).to_have_count(1)
    expect(page.locator(f"tr[data-station='{mine['id']}']")).to_be_visible()
    assert page.locator(f"tr[data-station='{other['id']}']").count() == 0
    # the live refresh keeps the filter
    page.locator("#station-board").evaluate(
        "el => new Promise(done => el.addEventListener('wardcast:updated', done, {once: true}))")
    expect(page.locator("#stations tbody tr")).to_have_count(1)
    pages.shot(page, "ward")


def test_new_token_replaces_the_old_one(pages: Pages) -> None:
    station = register_station(pages.server, unique("Trạm Phường Nguyễn Cư Trinh"))
    page = pages.login("admin")
    page.goto(f"/stations?ward={station['ward']}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"tr[data-station='{station['id']}'] button.rotate")
    expect(page.locator("h1")).to_have_text(f"Mã mới cho trạm: {station['name']}")
    token = page.input_value("#token")
    pages.shot(page, "rotated")

    def status(secret: str) -> int:
        return httpx.get(f"{pages.server.base}/api/v1/agent/time",
                         headers={"Authorization": f"Bearer {secret}"}).status_code

    assert status(token) == 200
    assert status(station["token"]) == 401  # the old token stopped working at once
    viewer = pages.login("viewer")
    viewer.goto(f"/stations?ward={station['ward']}")
    assert viewer.locator("button.rotate").count() == 0
