"""The stream sources page in Chromium: add a live stream (probed for real), a refused address
keeps what was typed, "Kiểm tra ngay" finds a stream that died, the dashboard flags it."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from playwright.sync_api import expect

from tests.support.stream_source import StreamSource
from tests.web.conftest import PHONE, Pages

PROBE_MS = 30_000  # a probe is a few seconds of ffmpeg; the machine may be busy


def test_add_check_and_flag_a_stream(pages: Pages, speech: Path, tmp_path: Path) -> None:
    name = f"VOV1 Thời sự {uuid.uuid4().hex[:4]}"
    page = pages.login("editor")
    page.goto("/streams")
    expect(page.locator("h1")).to_have_text("Nguồn tiếp âm")
    # a local file is refused in Vietnamese, and what was typed stays in the form
    page.fill("#stream-form input[name=name]", name)
    page.fill("#stream-form input[name=url]", "file:///etc/passwd")
    page.click("#stream-form button[type=submit]")
    expect(page.locator("#form-error")).to_contain_text("chỉ nhận địa chỉ http://")
    expect(page.locator("#stream-form input[name=name]")).to_have_value(name)
    with StreamSource(speech, folder=tmp_path) as source:
        page.fill("#stream-form input[name=url]", source.url)
        page.click("#stream-form button[type=submit]")
        row = page.locator("#streams tr", has_text=name)
        expect(row.locator(".state .badge")).to_have_text("Đang phát tốt", timeout=PROBE_MS)
        expect(row.locator(".audio")).to_have_text("MP3 · 64 kbit/s")
        expect(row.locator(".checked")).to_have_text(re.compile(r"^\d\d:\d\d \d\d/\d\d/\d{4}$"))
        pages.shot(page, "ok")
    # the source died: "Kiểm tra ngay" says so, and the dashboard flags it with a link here
    row.locator("button.check-now").click()
    expect(row.locator(".state .badge")).to_have_text("Không truy cập được", timeout=PROBE_MS)
    expect(row.locator(".reason")).to_contain_text("máy chủ từ chối kết nối")
    board = pages.login("viewer", viewport=PHONE)
    board.goto("/stations")
    flag = board.locator(".stream-flag", has_text=name)
    expect(flag).to_have_text(re.compile(rf"^Nguồn tiếp âm «{re.escape(name)}»: Không truy cập "
                                         r"được từ \d\d:\d\d \d\d/\d\d/\d{4}$"))
    pages.shot(board, "dashboard-flag")
    flag.locator("a").click()
    expect(board).to_have_url(re.compile(r"/streams#stream-\d+$"))
    assert board.locator("button.check-now").count() == 0  # viewers read only
    pages.shot(board, "viewer")
    # deleted after a confirmation
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button.delete").click()
    expect(page.locator(".flash.ok")).to_contain_text(f"Đã xoá nguồn tiếp âm: {name}")
    expect(page.locator("#streams tr", has_text=name)).to_have_count(0)
