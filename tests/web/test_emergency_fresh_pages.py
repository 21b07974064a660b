"""The approver's day in Chromium: the waiting count on the home page; an emergency from a
fresh recording (Chromium's fake microphone) at desktop width and from an uploaded file at
phone width, listened to, confirmed, sent to a running agent and stopped from the watch page
(the agent's WAV ends early, the playback `interrupted`, its repeats cancelled)."""

from __future__ import annotations

import time
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.procs import Proc
from tests.support.server import start_agent, wait_for
from tests.web.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    Pages,
    api_as,
    approve_through_api,
    register_station,
    upload_through_api,
)
from tests.web.test_emergency_page import wait_online

# a fake microphone (a beeping source) that needs no permission prompt: only this module's
# browser has it, the other tests keep theirs
FAKE_MIC = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def mic_browser(browser: Browser) -> Iterator[Browser]:
    """A second Chromium of the same Playwright, with the fake microphone."""
    chromium = browser.browser_type.launch(executable_path=CHROMIUM,
                                           args=CHROMIUM_ARGS + FAKE_MIC)
    yield chromium
    chromium.close()


@pytest.fixture
def mic_pages(mic_browser: Browser, pages: Pages) -> Pages:
    """The shared helpers, on the browser with the fake microphone."""
    pages.browser = mic_browser
    return pages


def test_home_says_how_many_bulletins_wait(pages: Pages, speech: Path) -> None:
    waiting = upload_through_api(pages.server, pages.accounts["editor"], speech,
                                 title=f"Chờ duyệt {uuid.uuid4().hex[:6]}")
    with api_as(pages.server, pages.accounts["approver"]) as api:
        count = api.get("/bulletins", params={"status": "pending"}).json()["total"]
    assert count >= 1
    for viewport in (DESKTOP, PHONE):
        page = pages.login("approver", viewport=viewport)
        box = page.locator("#approval-waiting")
        expect(box).to_have_text(f"{count} bản tin đang chờ duyệt")
        pages.shot(page, "home")
        box.locator("a").click()
        page.wait_for_url("**/bulletins?status=pending")
        expect(page.locator(f"a[href='/bulletins/{waiting['id']}']").first).to_be_visible()
    editor = pages.login("editor")
    expect(editor.locator("h1")).to_have_text("Trang chủ")
    expect(editor.locator("#approval-waiting")).to_have_count(0)


def _send_and_stop(pages: Pages, page: Page, station: dict[str, Any], played: Path,
                   tag: str) -> None:
    """From the chooser with the new audio in place: pick the station, confirm, send three
    repeats, stop while the first plays, and check the agent's output and the ledger."""
    page.check(f"input[name=station_ids][value='{station['id']}']")
    page.fill("input[name=repeat]", "3")
    page.fill("input[name=gap_s]", "2")
    pages.shot(page, f"{tag}-choose")
    page.click("#emergency-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Xác nhận phát khẩn cấp", timeout=60_000)
    expect(page.locator("#confirm-bulletin")).to_contain_text("Khẩn cấp ")
    expect(page.locator("#loudness-after")).to_contain_text("LUFS")
    expect(page.locator("#confirm-fresh")).to_be_visible()
    page.wait_for_function("() => document.querySelector('#confirm-audio').duration > 0")
    pages.shot(page, f"{tag}-confirm")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#send-now")
    expect(page.locator(".flash")).to_have_text("Đã gửi lệnh phát khẩn cấp tới 1 trạm.")
    broadcast_id = int(page.url.rsplit("/", 1)[1])
    badge = page.locator(f"tr[data-station='{station['id']}'] .progress .badge")
    expect(badge).to_have_attribute("data-status", "playing", timeout=60_000)
    pages.shot(page, f"{tag}-playing")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#stop-now")
    expect(page.locator(".flash").first).to_have_text("Đã gửi lệnh dừng tới 1 trạm.")
    expect(page.locator("#broadcast-stopped")).to_contain_text("Đã dừng lúc")
    expect(page.locator("#stop-now")).to_have_count(0)
    expect(badge).to_have_attribute("data-status", "interrupted", timeout=30_000)
    expect(badge).to_have_text("Đã dừng khi đang phát")
    pages.shot(page, f"{tag}-stopped")

    with api_as(pages.server, pages.accounts["viewer"]) as api:
        rows = sorted(api.get("/playbacks", params={"station_id": station["id"]}).json()["items"],
                      key=lambda r: r["scheduled_at"])
        bulletin = api.get(f"/bulletins/{rows[0]['bulletin_id']}").json()
    assert [r["status"] for r in rows] == ["interrupted", "cancelled", "cancelled"], rows
    assert bulletin["status"] == "approved" and bulletin["title"].startswith("Khẩn cấp ")
    # the agent's file output: one WAV, cut well before the end of the audio
    wait_for(lambda: any(played.glob("*.wav")), timeout=10, what="the agent's WAV")
    time.sleep(1)  # the repeats' slots pass: nothing more is written
    wavs = sorted(played.glob("*.wav"))
    assert len(wavs) == 1, wavs
    assert f"bc{broadcast_id}-0" in wavs[0].name or f"pb{rows[0]['id']}" in wavs[0].name
    with wave.open(str(wavs[0])) as sound:
        seconds = sound.getnframes() / sound.getframerate()
    assert 0 < seconds < bulletin["duration_ms"] / 1000 - 1, (seconds, bulletin["duration_ms"])


def _start(pages: Pages, tmp_path: Path, name: str) -> tuple[dict[str, Any], Path, Proc]:
    station = register_station(pages.server, f"{name} {uuid.uuid4().hex[:6]}")
    agent, played = start_agent(pages.server, station_id=station["id"], token=station["token"],
                                workdir=tmp_path)
    wait_online(pages, int(station["id"]))
    return station, played, agent


def test_approver_records_from_the_microphone_sends_and_stops(
        mic_pages: Pages, tmp_path: Path) -> None:
    station, played, agent = _start(mic_pages, tmp_path, "Trạm Phường Tân An")
    try:
        page = mic_pages.login("approver", viewport=DESKTOP)
        page.goto("/emergency")
        page.click("#record-start")
        expect(page.locator("#record-state")).to_have_text("Đang ghi âm…")
        expect(page.locator("#record-stop")).to_be_visible()
        page.wait_for_timeout(9_000)  # long enough to be stopped while it plays
        page.click("#record-stop")
        expect(page.locator("#record-state")).to_have_text("Đã ghi xong: nghe lại ở bên dưới.")
        expect(page.locator("#listen")).to_be_visible()
        size = page.evaluate("() => document.querySelector('#audio-file').files[0].size")
        assert size > 1000
        page.wait_for_function(
            "() => document.querySelector('#listen').readyState >= 1")  # it can be played
        _send_and_stop(mic_pages, page, station, played, "recorded")
    finally:
        agent.stop()


def test_approver_uploads_a_file_on_a_phone_sends_and_stops(
        pages: Pages, speech: Path, tmp_path: Path) -> None:
    station, played, agent = _start(pages, tmp_path, "Trạm Phường Ea Tam")
    try:
        page = pages.login("approver", viewport=PHONE)
        page.goto("/emergency")
        page.set_input_files("#audio-file", str(speech))
        expect(page.locator("#listen")).to_be_visible()
        page.wait_for_function("() => document.querySelector('#listen').duration > 0")
        _send_and_stop(pages, page, station, played, "uploaded")
    finally:
        agent.stop()


def test_new_audio_and_a_bulletin_together_are_refused(pages: Pages, speech: Path) -> None:
    approved = upload_through_api(pages.server, pages.accounts["editor"], speech,
                                  title=f"Cảnh báo {uuid.uuid4().hex[:6]}")
    approve_through_api(pages.server, pages.accounts["approver"], approved["id"])
    page = pages.login("approver", viewport=PHONE)
    page.goto("/emergency")
    page.set_input_files("#audio-file", str(speech))
    page.select_option("select[name=bulletin_id]", str(approved["id"]))
    page.check("#everyone")
    page.click("#emergency-form button[type=submit]")
    expect(page.locator("#form-error")).to_have_text(
        "Chọn một bản tin đã duyệt hoặc âm thanh mới, không chọn cả hai")
