"""Timetable pages in Chromium: the editor takes days and times as people say them, previews
the rule in words, the next broadcasts, quiet hours and clashes as the clerk types, whatever
the browser's locale; the week calendar shows the slots on the right days and times, and a
conflict keeps what was typed."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.web.conftest import (
    PASSWORD,
    PHONE,
    VIEWPORTS,
    Pages,
    api_as,
    approve_through_api,
    register_station,
    upload_through_api,
)

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


def next_monday() -> date:
    """The Monday of next week in the station's zone (always in the future)."""
    today = datetime.now(ZONE).date()
    return today + timedelta(days=7 - today.weekday())


@pytest.fixture
def approved(pages: Pages, speech: Path) -> dict[str, Any]:
    bulletin = upload_through_api(pages.server, pages.accounts["editor"], speech,
                                  title=unique("Bản tin sáng"))
    approve_through_api(pages.server, pages.accounts["approver"], bulletin["id"])
    return bulletin


def fill_editor(page: Page, *, bulletin_id: int, day: date, at: str) -> None:
    page.select_option("select[name=what]", f"b:{bulletin_id}")
    page.fill("input[name=day]", day.strftime("%d/%m/%Y"))
    page.fill("input[name=at]", at)


def test_weekly_timetable_appears_on_the_calendar(pages: Pages,
                                                  approved: dict[str, Any]) -> None:
    station = register_station(pages.server, unique("Trạm Phường 7"))
    monday = next_monday()
    page = pages.login("editor")
    page.goto(f"/timetables?station_id={station['id']}")
    page.click("#new-timetable")
    fill_editor(page, bulletin_id=approved["id"], day=monday, at="06:30")
    page.check("input[name=repeat][value=weekly]")
    for code in ("MO", "WE", "FR"):
        page.check(f"input[name=weekdays][value={code}]")
    last = monday + timedelta(days=27)
    page.fill("input[name=until]", last.strftime("%d/%m/%Y"))
    expect(page.locator("#rule-words")).to_have_text(
        f"Thứ Hai, Thứ Tư, Thứ Sáu, lúc 06:30, từ {monday:%d/%m/%Y} đến {last:%d/%m/%Y}")
    # the new link pre-selects the station the calendar showed
    expect(page.locator(f"input[name=station_ids][value='{station['id']}']")).to_be_checked()
    pages.shot(page, "editor")
    page.click("#timetable-form button[type=submit]")
    expect(page.locator(".flash")).to_have_text("Đã lưu lịch phát.")
    # the calendar jumps to the week it first plays (next week), not this week
    expect(page).to_have_url(re.compile(rf"week={monday.isoformat()}"))
    expect(page.locator(".slot")).to_have_count(3)

    with api_as(pages.server, pages.accounts["viewer"]) as api:
        stored = [t for t in api.get("/timetables", params={"limit": 500}).json()["items"]
                  if t["bulletin_id"] == approved["id"]]
    assert len(stored) == 1
    assert stored[0]["recurrence"] == "FREQ=WEEKLY;BYDAY=MO,WE,FR"
    assert stored[0]["station_ids"] == [station["id"]]

    page.goto(f"/timetables?station_id={station['id']}&week={monday.isoformat()}")
    expect(page.locator("#week-title")).to_contain_text(
        f"Tuần từ Thứ Hai, {monday.strftime('%d/%m/%Y')}")
    title = approved["title"]
    for offset in range(7):
        day = page.locator(f"li.day[data-day='{(monday + timedelta(days=offset)).isoformat()}']")
        if offset in (0, 2, 4):  # Monday, Wednesday, Friday
            expect(day.locator(".slot")).to_have_count(1)
            expect(day.locator(".slot")).to_contain_text(f"06:30 {title}")
        else:
            expect(day.locator(".slot")).to_have_count(0)
    expect(page.locator(f"li.day[data-day='{monday.isoformat()}'] h3")).to_have_text(
        f"Thứ Hai, {monday.strftime('%d/%m/%Y')}")
    expect(page.locator(f"tr[data-timetable='{stored[0]['id']}'] .repeats")).to_contain_text(
        "Thứ Hai, Thứ Tư, Thứ Sáu, lúc 06:30")
    pages.shot(page, "calendar")
    # prev/next week navigation: the following week plays on the same three days
    page.click("#week-next")
    expect(page.locator(".slot")).to_have_count(3)


def test_conflict_is_explained_in_vietnamese_and_keeps_the_input(
        pages: Pages, approved: dict[str, Any]) -> None:
    station = register_station(pages.server, unique("Trạm Phường 9"))
    tomorrow = datetime.now(ZONE).date() + timedelta(days=1)
    with api_as(pages.server, pages.accounts["editor"]) as api:
        first = api.post("/timetables", json={
            "bulletin_id": approved["id"], "station_ids": [station["id"]],
            "starts_at": f"{tomorrow.isoformat()}T08:00:00"})
        first.raise_for_status()
    page = pages.login("editor")
    page.goto("/timetables/new")
    fill_editor(page, bulletin_id=approved["id"], day=tomorrow, at="08:00")
    page.click("button[data-preset=all]")
    page.check(f"input[name=station_ids][value='{station['id']}']")
    page.select_option("select[name=priority]", "normal")
    page.click("#timetable-form button[type=submit]")
    error = page.locator("#form-error")
    expect(error).to_contain_text("trùng với")
    expect(error).to_contain_text(approved["title"])
    expect(error).not_to_contain_text("overlaps")  # only the Vietnamese half on a vi page
    expect(page.locator("#conflict-hint")).to_contain_text("Hãy chọn giờ khác")
    # nothing typed is lost
    expect(page.locator("select[name=what]")).to_have_value(f"b:{approved['id']}")
    expect(page.locator("input[name=day]")).to_have_value(tomorrow.strftime("%d/%m/%Y"))
    expect(page.locator("input[name=at]")).to_have_value("08:00")
    expect(page.locator("input[name=repeat][value=weekly]")).to_be_checked()
    expect(page.locator("input[name=weekdays]:checked")).to_have_count(7)
    expect(page.locator("input[name=rule]")).to_be_hidden()  # the picker shows what applies
    expect(page.locator(f"input[name=station_ids][value='{station['id']}']")).to_be_checked()
    pages.shot(page, "conflict")
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        mine = [t for t in api.get("/timetables", params={"limit": 500}).json()["items"]
                if station["id"] in t["station_ids"]]
    assert [t["id"] for t in mine] == [first.json()["id"]]  # the refused one was not kept


def test_edit_and_delete(pages: Pages, approved: dict[str, Any]) -> None:
    station = register_station(pages.server, unique("Trạm Phường 3"))
    monday = next_monday()
    with api_as(pages.server, pages.accounts["editor"]) as api:
        created = api.post("/timetables", json={
            "bulletin_id": approved["id"], "station_ids": [station["id"]],
            "starts_at": f"{monday.isoformat()}T17:00:00", "recurrence": "FREQ=DAILY"}).json()
    page = pages.login("editor")
    page.goto(f"/timetables/{created['id']}/edit")
    expect(page.locator("input[name=repeat][value=weekly]")).to_be_checked()
    expect(page.locator("input[name=weekdays]:checked")).to_have_count(7)  # every day
    expect(page.locator("input[name=at]")).to_have_value("17:00")
    page.click("button[data-preset=weekend]")
    page.uncheck("input[name=weekdays][value=SU]")
    page.click("#timetable-form button[type=submit]")
    expect(page.locator(".flash")).to_have_text("Đã lưu lịch phát.")
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        assert api.get(f"/timetables/{created['id']}").json()["recurrence"] == \
            "FREQ=WEEKLY;BYDAY=SA"
    page.goto(f"/timetables?station_id={station['id']}&week={monday.isoformat()}")
    expect(page.locator(".slot")).to_have_count(1)
    expect(page.locator(f"li.day[data-day='{(monday + timedelta(days=5)).isoformat()}'] .slot")
           ).to_contain_text("17:00")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"tr[data-timetable='{created['id']}'] button.danger")
    expect(page.locator(".flash")).to_contain_text("Đã xóa lịch phát")
    page.goto(f"/timetables?station_id={station['id']}&week={monday.isoformat()}")
    expect(page.locator(".slot")).to_have_count(0)


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_pages_fit_and_viewers_cannot_edit(pages: Pages, viewport: ViewportSize,
                                           approved: dict[str, Any]) -> None:
    station = register_station(pages.server, unique("Trạm Phường 1"))
    with api_as(pages.server, pages.accounts["editor"]) as api:
        api.post("/timetables", json={
            "bulletin_id": approved["id"], "station_ids": [station["id"]],
            "starts_at": f"{next_monday().isoformat()}T06:00:00",
            "recurrence": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU"}).raise_for_status()
    viewer = pages.at(f"/timetables?station_id={station['id']}&week={next_monday()}",
                      role="viewer", viewport=viewport, name="calendar")
    expect(viewer.locator("h1")).to_have_text("Lịch phát")
    expect(viewer.locator(".slot")).to_have_count(7)
    assert viewer.locator("#new-timetable").count() == 0
    assert viewer.locator("button.danger").count() == 0
    answer = viewer.goto("/timetables/new")
    assert answer is not None and answer.status == 403
    pages.at(f"/timetables/new?station_id={station['id']}", role="editor", viewport=viewport,
             name="editor")
    assert re.search(r"\S", viewer.title())


def test_group_calendar_shows_how_many_stations_play(pages: Pages,
                                                     approved: dict[str, Any]) -> None:
    members = [register_station(pages.server, unique(f"Trạm Cụm {n}")) for n in (1, 2)]
    with pages.server.api() as api:
        group = api.post("/groups", json={"name": unique("Cụm Thủ Đức"),
                                          "station_ids": [m["id"] for m in members]}).json()
    monday = next_monday()
    page = pages.login("editor")
    page.goto(f"/timetables/new?group_id={group['id']}")
    expect(page.locator(f"input[name=group_ids][value='{group['id']}']")).to_be_checked()
    fill_editor(page, bulletin_id=approved["id"], day=monday, at="18:15")
    page.check("input[name=repeat][value=once]")
    page.click("#timetable-form button[type=submit]")
    expect(page.locator(".flash")).to_have_text("Đã lưu lịch phát.")
    page.goto(f"/timetables?group_id={group['id']}&week={monday.isoformat()}")
    expect(page.locator("#week-title")).to_contain_text(f"Nhóm: {group['name']}")
    slot = page.locator(f"li.day[data-day='{monday.isoformat()}'] .slot")
    expect(slot).to_have_count(1)  # one line for both stations, not one per station
    expect(slot).to_contain_text("18:15")
    expect(slot).to_contain_text("2 trạm")
    pages.shot(page, "group")
    # the editor shows the timetable targets the group, not its members one by one
    timetable_id = slot.get_attribute("data-timetable")
    page.goto(f"/timetables/{timetable_id}/edit")
    expect(page.locator(f"input[name=group_ids][value='{group['id']}']")).to_be_checked()
    for member in members:
        expect(page.locator(f"input[name=station_ids][value='{member['id']}']")
               ).not_to_be_checked()


def test_a_clash_past_the_horizon_is_refused_with_names_and_local_time(
        pages: Pages, approved: dict[str, Any]) -> None:
    station = register_station(pages.server, unique("Trạm Phường 5"))
    day = datetime.now(ZONE).date() + timedelta(days=5)  # past the 48-hour horizon
    with api_as(pages.server, pages.accounts["editor"]) as api:
        first = api.post("/timetables", json={
            "bulletin_id": approved["id"], "station_ids": [station["id"]],
            "starts_at": f"{day.isoformat()}T19:30:00", "recurrence": "FREQ=WEEKLY"})
        first.raise_for_status()
        assert first.json()["planned"] == 0  # nothing in the ledger to clash with yet
    page = pages.login("editor")
    page.goto("/timetables/new")
    fill_editor(page, bulletin_id=approved["id"], day=day - timedelta(days=2), at="19:30")
    page.click("button[data-preset=all]")
    page.check(f"input[name=station_ids][value='{station['id']}']")
    page.click("#timetable-form button[type=submit]")
    error = page.locator("#form-error")
    expect(error).to_contain_text(f"{station['name']}: trùng với «{approved['title']}»")
    expect(error).to_contain_text("(lịch phát khác, mức thường)")
    expect(error).to_contain_text(f"lúc 19:30 {day.strftime('%d/%m/%Y')}")
    expect(error).not_to_contain_text("clashes")  # only the Vietnamese half on a vi page
    pages.shot(page, "refused")
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        mine = [t for t in api.get("/timetables", params={"limit": 500}).json()["items"]
                if station["id"] in t["station_ids"]]
    assert [t["id"] for t in mine] == [first.json()["id"]]


def test_the_calendar_marks_runs_that_overlap(pages: Pages, approved: dict[str, Any],
                                              speech: Path) -> None:
    other = upload_through_api(pages.server, pages.accounts["editor"], speech,
                               title=unique("Bản tin khẩn"))
    approve_through_api(pages.server, pages.accounts["approver"], other["id"])
    station = register_station(pages.server, unique("Trạm Phường 2"))
    monday = next_monday() + timedelta(days=7)  # both still projected: past the horizon
    with api_as(pages.server, pages.accounts["editor"]) as api:
        for bulletin, at, extra in ((approved, "07:00", {}),
                                    (other, "07:00", {"priority": "priority",
                                                      "displace": True}),
                                    (approved, "09:00", {})):
            api.post("/timetables", json={
                "bulletin_id": bulletin["id"], "station_ids": [station["id"]],
                "starts_at": f"{monday.isoformat()}T{at}:00", **extra}).raise_for_status()
    page = pages.login("viewer")
    page.goto(f"/timetables?station_id={station['id']}&week={monday.isoformat()}")
    slots = page.locator(f"li.day[data-day='{monday.isoformat()}'] .slot")
    expect(slots).to_have_count(3)
    marked = page.locator(f"li.day[data-day='{monday.isoformat()}'] .slot.clash")
    expect(marked).to_have_count(2)
    for mine, theirs in ((approved, other), (other, approved)):
        slot = marked.filter(has=page.locator(f"a[href='/bulletins/{mine['id']}']"))
        expect(slot.locator(".badge.clash")).to_have_text(f"Trùng lịch: {theirs['title']}")
    expect(slots.filter(has_text="09:00")).not_to_have_class(re.compile(r"\bclash\b"))
    pages.shot(page, "overlap")


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_workdays_twice_a_day_previewed_in_words_with_quiet_hours_and_clashes(
        pages: Pages, viewport: ViewportSize, approved: dict[str, Any], speech: Path) -> None:
    """From the bulletin's "Xếp lịch bản tin này": Thứ Hai–Thứ Sáu at 06:00 và 17:00 is one
    timetable; the preview says it in words, lists the next broadcasts in local time, and
    warns of quiet hours and of a clash before anything is saved."""
    station = register_station(pages.server, unique("Trạm Phường 4"))
    other = upload_through_api(pages.server, pages.accounts["editor"], speech,
                               title=unique("Thông báo tiêm chủng"))
    approve_through_api(pages.server, pages.accounts["approver"], other["id"])
    monday = next_monday() + timedelta(days=7)  # past the horizon: only the look-ahead sees it
    wednesday, last = monday + timedelta(days=2), monday + timedelta(days=11)
    with pages.server.api() as api:
        api.patch(f"/stations/{station['id']}", json={
            "quiet_start": "21:00", "quiet_end": "05:00"}).raise_for_status()
    with api_as(pages.server, pages.accounts["editor"]) as api:
        api.post("/timetables", json={
            "bulletin_id": other["id"], "station_ids": [station["id"]],
            "starts_at": f"{wednesday.isoformat()}T17:00:00"}).raise_for_status()
    page = pages.login("editor", viewport=viewport)
    page.goto(f"/bulletins/{approved['id']}")
    page.click(f"a[href='/timetables/new?bulletin_id={approved['id']}']")
    expect(page.locator("select[name=what]")).to_have_value(f"b:{approved['id']}")
    page.check(f"input[name=station_ids][value='{station['id']}']")
    page.fill("input[name=day]", monday.strftime("%d/%m/%Y"))
    page.fill("input[name=at]", "06:00 và 22:00")
    page.click("button[data-preset=workdays]")
    page.fill("input[name=until]", last.strftime("%d/%m/%Y"))
    words = page.locator("#rule-words")
    expect(words).to_have_text(f"Thứ Hai–Thứ Sáu, lúc 06:00 và 22:00, "
                               f"từ {monday:%d/%m/%Y} đến {last:%d/%m/%Y}")
    expect(page.locator("#preview")).not_to_contain_text("FREQ")  # never the raw rule
    expect(page.locator("#quiet-hours")).to_have_text(
        f"{station['name']}: giờ im lặng 21:00–05:00")
    coming = page.locator("#next-broadcasts li")
    expect(coming).to_have_count(8)
    expect(coming.nth(0)).to_have_text(f"06:00 Thứ Hai, {monday:%d/%m/%Y}")
    expect(coming.nth(1)).to_contain_text(f"22:00 Thứ Hai, {monday:%d/%m/%Y}")
    expect(coming.nth(1).locator(".badge")).to_have_text(
        f"giờ im lặng ở {station['name']}: không phát ở đó")
    # the clash with the other bulletin on Wednesday at 17:00, named, in local time
    page.fill("input[name=at]", "17:00, 06:00")
    expect(words).to_contain_text("lúc 06:00 và 17:00")
    clash = page.locator("#clashes li")
    expect(clash).to_have_count(1)
    expect(clash).to_contain_text(
        f"{station['name']}: trùng với «{other['title']}» (mức Thường) lúc "
        f"17:00 {wednesday:%d/%m/%Y}")
    expect(clash).to_have_class(re.compile(r"\bblocks\b"))
    expect(page.locator("#quiet-hours")).to_be_visible()
    expect(coming.locator(".badge")).to_have_count(0)
    pages.shot(page, "clash-preview")
    page.fill("input[name=at]", "06:00 và 17:30")
    expect(page.locator("#no-clashes")).to_be_visible()
    expect(coming.nth(1)).to_have_text(f"17:30 Thứ Hai, {monday:%d/%m/%Y}")
    pages.shot(page, "preview")
    page.click("#timetable-form button[type=submit]")
    expect(page.locator(".flash")).to_have_text("Đã lưu lịch phát.")
    expect(page).to_have_url(re.compile(rf"week={monday.isoformat()}"))
    expect(page.locator(".slot")).to_have_count(11)  # 2 a day Monday to Friday, and the other
    expect(page.locator(f"li.day[data-day='{monday.isoformat()}'] .slot")).to_have_text(
        [re.compile(r"^\s*06:00"), re.compile(r"^\s*17:30")])
    expect(page.locator(f"li.day[data-day='{(monday + timedelta(days=5)).isoformat()}'] .slot")
           ).to_have_count(0)
    pages.shot(page, "saved")
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        mine = [t for t in api.get("/timetables", params={"limit": 500}).json()["items"]
                if t["bulletin_id"] == approved["id"] and station["id"] in t["station_ids"]]
    assert [t["recurrence"] for t in mine] == [
        "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6,17;BYMINUTE=0,30;BYSETPOS=1,4"]
    page.goto(f"/timetables/{mine[0]['id']}/edit")  # read back as typed
    expect(page.locator("input[name=at]")).to_have_value("06:00 và 17:30")
    expect(page.locator("input[name=weekdays]:checked")).to_have_count(5)
    expect(page.locator("input[name=until]")).to_have_value(last.strftime("%d/%m/%Y"))


def test_dates_and_times_are_vietnamese_in_an_english_browser(
        pages: Pages, approved: dict[str, Any], speech: Path) -> None:
    """In an en-US Chromium the editor still reads and shows dd/mm/yyyy and 24-hour times
    (no date or time input that follows the browser's locale), and bad values are refused in
    Vietnamese, with nothing saved."""
    station = register_station(pages.server, unique("Trạm Phường 6"))
    context = pages.browser.new_context(viewport=PHONE, base_url=pages.server.base,
                                        locale="en-US", timezone_id="America/New_York")
    pages.contexts.append(context)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=username]", pages.accounts["editor"])
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login)"))
    page.goto(f"/timetables/new?station_id={station['id']}&bulletin_id={approved['id']}")
    tomorrow = datetime.now(ZONE).date() + timedelta(days=1)
    expect(page.locator("select[name=what]")).to_have_value(f"b:{approved['id']}")
    expect(page.locator("input[name=day]")).to_have_value(tomorrow.strftime("%d/%m/%Y"))
    assert page.locator("#timetable-form input[type=date], #timetable-form input[type=time], "
                        "#timetable-form input[type=datetime-local]").count() == 0
    expect(page.locator("#next-broadcasts li").first).to_have_text(
        f"06:00 {weekday_vi(tomorrow)}, {tomorrow:%d/%m/%Y}")
    yesterday = tomorrow - timedelta(days=2)
    page.fill("input[name=day]", yesterday.strftime("%d/%m/%Y"))
    expect(page.locator("#preview-error")).to_have_text(
        f"06:00 {yesterday:%d/%m/%Y} đã qua ở {station['name']}: hãy chọn ngày hoặc giờ "
        "muộn hơn.")
    page.fill("input[name=day]", "12/31/2026")  # the American order
    expect(page.locator("#preview-error")).to_have_text(
        "«12/31/2026» không phải là ngày hợp lệ: hãy viết theo dạng ngày/tháng/năm "
        "(dd/mm/yyyy), ví dụ 07/12/2026.")
    page.fill("input[name=day]", tomorrow.strftime("%d/%m/%Y"))
    page.fill("input[name=at]", "6:00 PM")
    expect(page.locator("#preview-error")).to_contain_text("«PM» không phải là giờ hợp lệ")
    page.click("#timetable-form button[type=submit]")
    error = page.locator("#form-error")
    expect(error).to_have_text("«PM» không phải là giờ hợp lệ: hãy viết giờ và phút theo kiểu "
                               "24 giờ, ví dụ 06:00 hoặc 17:30.")
    expect(page.locator("input[name=at]")).to_have_value("6:00 PM")  # kept as typed
    page.fill("input[name=at]", "18:00")
    expect(page.locator("#rule-words")).to_have_text(
        f"Ngày {tomorrow:%d/%m/%Y}, lúc 18:00")
    pages.shot(page, "english-browser")
    pending = upload_through_api(pages.server, pages.accounts["editor"], speech,
                                 title=unique("Bản tin chờ duyệt"))
    page.goto(f"/timetables/new?bulletin_id={pending['id']}")
    expect(page.locator("#form-notice")).to_have_text(
        f"Bản tin «{pending['title']}» chưa được duyệt: chỉ xếp lịch được sau khi bản tin được "
        "duyệt.")
    expect(page.locator("select[name=what]")).to_have_value("")
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        assert not [t for t in api.get("/timetables", params={"limit": 500}).json()["items"]
                    if station["id"] in t["station_ids"]]


def weekday_vi(day: date) -> str:
    return ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy",
            "Chủ Nhật")[day.weekday()]
