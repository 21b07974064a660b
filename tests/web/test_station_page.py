"""The station page a ward official follows on a phone (Chromium, a real scheduler and a real
agent whose `file` output stands in for the sound card); the dashboard's card; the one-line
phone header."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.support.audio import speech_wav
from tests.support.procs import wait_for
from tests.support.server import start_agent
from tests.web.conftest import (
    DESKTOP,
    PASSWORD,
    PHONE,
    Pages,
    api_as,
    approve_through_api,
    register_station,
    upload_through_api,
)
from wardcast.protocol import to_wire

LIVE = 45_000  # the page polls every 3 s; an agent needs seconds to fetch, play, drop
STAMP = r"\d\d:\d\d:\d\d \d\d/\d\d/\d{4}"  # the station's local time, dd/mm/yyyy, 24-hour


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


def schedule(pages: Pages, bulletin_id: int, station_id: int, at: datetime) -> None:
    with api_as(pages.server, pages.accounts["editor"]) as api:
        api.post("/timetables", json={"bulletin_id": bulletin_id, "starts_at": to_wire(at),
                                      "station_ids": [station_id]}).raise_for_status()


def header_height(page: Page) -> float:
    return float(page.locator("header.top").evaluate("el => el.getBoundingClientRect().height"))


def test_a_ward_official_follows_a_station_on_a_phone(pages: Pages, tmp_path: Path) -> None:
    """Online since, a test tone acknowledged by the agent, now playing with its progress,
    recent playbacks; then the agent stops: offline since, and the next slot at risk in
    words, on the station page, the stations list and the home page's card."""
    long_speech = speech_wav(tmp_path / "long.wav", text=". ".join(["Thông báo của phường"] * 12))
    bulletin = upload_through_api(pages.server, pages.accounts["editor"], long_speech,
                                  title=unique("Bản tin sáng"))
    approve_through_api(pages.server, pages.accounts["approver"], bulletin["id"])
    station = register_station(pages.server, unique("Trạm Phường Bến Thành"))
    agent, played = start_agent(pages.server, station_id=station["id"], token=station["token"],
                                workdir=tmp_path)
    page = pages.login("approver", viewport=PHONE)
    assert header_height(page) <= 56  # one line on a phone
    page.goto(f"/stations/{station['id']}")
    expect(page.locator("h1")).to_have_text(station["name"])
    expect(page.locator("#station-state-badge")).to_have_text("Trực tuyến", timeout=LIVE)
    expect(page.locator("#station-since")).to_have_text(re.compile(rf"^từ {STAMP}$"))
    expect(page.locator("#station-clock")).to_have_text(re.compile(
        r"^(Trạm chưa gửi thông tin đồng hồ|Đồng hồ trạm đúng giờ)$"))
    expect(page.locator("#now-nothing")).to_have_text("Hiện không phát bản tin nào.")

    # the test tone: sent, then acknowledged by the agent (the page polls), heard on "air"
    page.click("#command-test-tone")
    expect(page.locator(".flash")).to_have_text(f"Đã gửi lệnh đến {station['name']}.")
    result = page.locator("#command-results li").first
    expect(result).to_contain_text("Phát âm thử")
    expect(result.locator(".result")).to_have_text("Trạm đã thực hiện", timeout=LIVE)
    wait_for(lambda: any(played.glob("*.wav")), timeout=30, what="the tone on the output")
    pages.shot(page, "tone")

    # a slot soon: next up with its readiness, then now playing with a progress bar
    schedule(pages, bulletin["id"], station["id"], datetime.now(UTC) + timedelta(seconds=15))
    coming = page.locator("#next-up li").first
    expect(coming).to_contain_text(bulletin["title"], timeout=LIVE)
    expect(coming.locator(".media")).to_have_text("Đã có âm thanh tại trạm", timeout=LIVE)
    expect(coming.locator(".plan")).to_have_text("Đã nhận lịch phát")
    pages.shot(page, "ready")
    expect(page.locator("#now-title")).to_have_text(bulletin["title"], timeout=LIVE)
    expect(page.locator("#now-time")).to_have_text(re.compile(r"^\d:\d\d / \d:\d\d$"))
    assert int(page.locator("#now-progress").get_attribute("max") or 0) > 0
    pages.shot(page, "playing")
    recent = page.locator("#recent tbody tr").first
    expect(recent).to_contain_text("Đã phát", timeout=LIVE)
    expect(page.locator("#now-nothing")).to_be_visible()

    # the agent goes away: offline since when, and what is at risk, in words
    agent.stop()
    expect(page.locator("#station-state-badge")).to_have_text("Ngoại tuyến", timeout=LIVE)
    expect(page.locator("#station-since")).to_have_text(re.compile(rf"^từ {STAMP}$"))
    since = page.inner_text("#station-since").removeprefix("từ ")
    schedule(pages, bulletin["id"], station["id"], datetime.now(UTC) + timedelta(minutes=3))
    expect(page.locator("#next-up .risk")).to_have_text(re.compile(
        rf"^Trạm mất kết nối từ {since}; bản tin “{re.escape(bulletin['title'])}” lúc {STAMP} "
        r"có thể không phát được\.$"), timeout=LIVE)
    expect(page.locator("#controls-offline")).to_be_visible()
    pages.shot(page, "offline")

    page.goto(f"/stations?ward={station['ward']}")
    row = page.locator(f"tr[data-station='{station['id']}']")
    expect(row.locator(".cache")).to_contain_text("0/1")
    expect(row.locator(".cache .offline-warning")).to_have_text(
        "Trạm ngoại tuyến: bản tin chưa sẵn sàng có thể không phát được")
    pages.shot(page, "list")
    page.goto("/")
    card = page.locator(f"#station-cards li[data-station='{station['id']}']")
    expect(card).to_contain_text("Ngoại tuyến")
    expect(card.locator(".risk")).to_contain_text(bulletin["title"])
    pages.shot(page, "home")
    card.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/stations/{station['id']}$"))


def test_only_approvers_and_admins_get_the_controls(pages: Pages) -> None:
    station = register_station(pages.server, unique("Trạm Phường Đa Kao"))
    viewer = pages.login("viewer")
    viewer.goto(f"/stations?ward={station['ward']}")
    viewer.click(f"tr[data-station='{station['id']}'] a.station-link")
    expect(viewer.locator("h1")).to_have_text(station["name"])
    expect(viewer.locator("#station-since")).to_have_text("chưa từng kết nối")
    expect(viewer.locator("#controls")).to_have_count(0)
    pages.shot(viewer, "viewer")
    # the page's post is refused as the API's is, and nothing is sent
    answer = viewer.request.post(f"/stations/{station['id']}/commands",
                                 form={"type": "stop"},
                                 headers={"Origin": pages.server.base})
    assert answer.status == 403
    admin = pages.login("admin")
    admin.goto(f"/stations/{station['id']}")
    admin.fill("#volume-form input[name=percent]", "150")
    admin.click("#command-volume")
    expect(admin.locator("#control-error")).to_have_text("Âm lượng phải từ 0 đến 100")
    expect(admin.locator("#volume-form input[name=percent]")).to_have_value("150")
    pages.shot(admin, "refused")
    with pages.server.api() as api:
        assert api.get(f"/stations/{station['id']}/commands").json() == []


def test_a_ward_limited_official_sees_only_their_stations(pages: Pages) -> None:
    tag = uuid.uuid4().hex[:6]
    own = register_station(pages.server, f"Trạm Tân Lợi {tag}")
    other = register_station(pages.server, f"Trạm EaTam {tag}")
    username = f"approver-{tag}"
    with pages.server.api() as api:
        api.post("/users", json={"username": username, "password": PASSWORD,
                                 "role": "approver", "wards": [own["ward"]]}).raise_for_status()
    page = pages.login("approver", username=username)
    expect(page.locator(f"#station-cards li[data-station='{own['id']}']")).to_be_visible()
    assert f"EaTam {tag}" not in page.content()
    answer = page.goto(f"/stations/{other['id']}")
    assert answer is not None and answer.status == 403
    assert f"EaTam {tag}" not in page.content()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_header_stays_one_line_and_reaches_every_page(pages: Pages,
                                                          viewport: ViewportSize) -> None:
    page = pages.login("admin", viewport=viewport)
    menu = page.locator("details#nav nav.menu")  # the same menu at both widths
    expect(menu).to_have_count(1)
    if viewport is PHONE:
        assert header_height(page) <= 56
        expect(menu).to_be_hidden()
        pages.shot(page, "closed")
        page.click("#menu-button")
        expect(menu).to_be_visible()
        pages.shot(page, "open")
    else:
        expect(page.locator("#menu-button")).to_be_hidden()
        expect(menu).to_be_visible()
        pages.shot(page, "desktop")
    expect(page.locator("#logout")).to_be_visible()
    expect(page.locator("button[name=lang][value=en]")).to_be_visible()
    menu.locator("a[href='/stations']").click()
    expect(page.locator("h1")).to_have_text("Trạm")


@pytest.mark.parametrize(("offset", "uncertainty", "lang", "words"), [
    (None, None, "vi", "Trạm chưa gửi thông tin đồng hồ"),
    (4, 2, "vi", "Đồng hồ trạm đúng giờ"),
    (1500, 600, "vi", "Đồng hồ trạm đúng giờ"),  # might be 900 ms: not surely off
    (-3200, 100, "vi", "Đồng hồ trạm nhanh 3 giây"),  # negative: the agent is ahead
    (3200, None, "vi", "Đồng hồ trạm chậm 3 giây"),
    (-3200, 100, "en", "The station's clock is 3 s fast"),
    (-65_000, 100, "vi", "Đồng hồ trạm nhanh 1 phút 5 giây"),
])
def test_the_clock_is_said_in_plain_words(offset: int | None, uncertainty: int | None,
                                          lang: str, words: str) -> None:
    from scheduler.web.stations import clock_words

    assert clock_words(offset, uncertainty, lang) == words
