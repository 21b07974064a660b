"""The whole day's work in the browser: upload, approve, schedule, hear it, see it `played`."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.support.procs import wait_for
from tests.support.server import start_agent
from tests.web.conftest import (
    Pages,
    api_as,
    approve_through_page,
    register_station,
    upload_through_page,
)

LEAD = timedelta(seconds=20)  # time for the plan and the audio to reach the agent


def schedule_through_page(page: Page, *, bulletin_id: int, station_id: int) -> datetime:
    """Create a one-off timetable in the editor for the next whole minute at least LEAD away
    (the time field has minutes); return the slot."""
    slot = (datetime.now(UTC) + LEAD + timedelta(seconds=59)).replace(second=0, microsecond=0)
    local = slot.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))  # the station's zone
    page.goto("/timetables/new")
    page.select_option("select[name=what]", f"b:{bulletin_id}")
    page.fill("input[name=day]", local.date().isoformat())
    page.fill("input[name=at]", local.strftime("%H:%M"))
    page.check("input[name=repeat][value=once]")
    page.check(f"input[name=station_ids][value='{station_id}']")
    page.click("#timetable-form button[type=submit]")
    expect(page.locator(".flash")).to_be_visible()
    assert page.locator("#form-error").count() == 0
    return slot


def wait_for_status_in_log(page: Page, url: str, label: str, *, timeout: float) -> None:
    """Reload the log page until its (only) row shows the status label."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        badge = page.locator("#playbacks tbody tr .badge")
        if badge.count() == 1 and badge.inner_text() == label:
            return
        assert time.monotonic() < deadline, f"the log never showed {label!r}"
        page.wait_for_timeout(1000)


def test_upload_approve_schedule_and_see_it_played(pages: Pages, speech: Path,
                                                   tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    server = pages.server
    station = register_station(server, f"Phường Bến Nghé {tag}")
    agent, played = start_agent(server, station_id=station["id"], token=station["token"],
                                workdir=tmp_path)
    try:
        with server.api() as api:
            wait_for(lambda: bool(api.get(f"/stations/{station['id']}").json()["online"]),
                     timeout=30, what="the agent to come online")

        editor = pages.login("editor")
        title = f"Thông báo lịch tiêm chủng {tag}"
        bulletin_id = upload_through_page(editor, speech, title=title, category="Y tế")
        expect(editor.locator("#bulletin-status")).to_have_text("Chờ duyệt")
        pages.shot(editor, "1-uploaded")

        approver = pages.login("approver")
        approve_through_page(approver, bulletin_id)
        expect(approver.locator("#bulletin-status")).to_have_text("Đã duyệt")
        pages.shot(approver, "2-approved")

        slot = schedule_through_page(editor, bulletin_id=bulletin_id, station_id=station["id"])
        pages.shot(editor, "3-timetable-saved")
        with api_as(server, pages.accounts["viewer"]) as api:
            rows = api.get("/playbacks", params={"bulletin_id": bulletin_id}).json()["items"]
        assert [datetime.fromisoformat(r["scheduled_at"]) for r in rows] == [slot]

        viewer = pages.login("viewer")
        log_url = f"/log?bulletin_id={bulletin_id}"
        viewer.goto(log_url)
        expect(viewer.locator("#playbacks tbody tr")).to_have_count(1)
        pages.shot(viewer, "4-scheduled")
        wait_for_status_in_log(viewer, log_url, "Đã phát", timeout=LEAD.total_seconds() + 120)
        row = viewer.locator("#playbacks tbody tr")
        expect(row).to_contain_text(station["name"])
        expect(row).to_contain_text(title)
        pages.shot(viewer, "5-played")
        playback_id = row.get_attribute("data-playback")
        assert [w for w in played.glob("*.wav") if f"pb{playback_id}_" in w.name]
    finally:
        agent.stop()
