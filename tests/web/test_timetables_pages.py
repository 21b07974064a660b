"""Timetable pages in Chromium: the recurrence picker writes the RRULE, the week calendar
shows the slots on the right days and times, and a conflict keeps what was typed."""

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
    page.fill("input[name=day]", day.isoformat())
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
    page.fill("input[name=until]", (monday + timedelta(days=27)).isoformat())
    expect(page.locator("#rule-preview")).to_have_text("RRULE: FREQ=WEEKLY;BYDAY=MO,WE,FR")
    # the new link pre-selects the station the calendar showed
    expect(page.locator(f"input[name=station_ids][value='{station['id']}']")).to_be_checked()
    pages.shot(page, "editor")
    page.click("#timetable-form button[type=submit]")
    expect(page.locator(".flash")).to_have_text("Đã lưu lịch phát.")

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
        "Hằng tuần: Thứ Hai, Thứ Tư, Thứ Sáu")
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
    page.check("input[name=repeat][value=daily]")
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
    expect(page.locator("input[name=day]")).to_have_value(tomorrow.isoformat())
    expect(page.locator("input[name=at]")).to_have_value("08:00")
    expect(page.locator("input[name=repeat][value=daily]")).to_be_checked()
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
    expect(page.locator("input[name=repeat][value=daily]")).to_be_checked()
    expect(page.locator("input[name=at]")).to_have_value("17:00")
    page.check("input[name=repeat][value=weekly]")
    page.check("input[name=weekdays][value=SA]")
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


def test_picker_writes_and_reads_back_the_rule() -> None:
    from scheduler.web import recurrence_picker as picker

    assert picker.rule_for(repeat="once", weekdays=["MO"], custom="", start_weekday=0) is None
    assert picker.rule_for(repeat="daily", weekdays=[], custom="", start_weekday=0) == \
        "FREQ=DAILY"
    # weekdays come out in calendar order whatever order they were ticked in
    assert picker.rule_for(repeat="weekly", weekdays=["FR", "MO"], custom="",
                           start_weekday=0) == "FREQ=WEEKLY;BYDAY=MO,FR"
    # a weekly rule with no day ticked plays on the start date's weekday (Thursday here)
    assert picker.rule_for(repeat="weekly", weekdays=[], custom="", start_weekday=3) == \
        "FREQ=WEEKLY;BYDAY=TH"
    assert picker.choice_for("FREQ=WEEKLY;BYDAY=MO,FR") == ("weekly", ["MO", "FR"], "")
    assert picker.choice_for("FREQ=DAILY;BYHOUR=6,17") == ("custom", [], "FREQ=DAILY;BYHOUR=6,17")
    assert picker.describe("FREQ=WEEKLY;BYDAY=MO,SU", lang="vi") == "Hằng tuần: Thứ Hai, Chủ Nhật"
    assert picker.describe(None, lang="vi") == "Một lần"
    assert picker.describe("FREQ=MONTHLY", lang="en") == "Every month"


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
    page.check("input[name=repeat][value=daily]")
    page.check(f"input[name=station_ids][value='{station['id']}']")
    page.click("#timetable-form button[type=submit]")
    error = page.locator("#form-error")
    expect(error).to_contain_text(f"Trạm {station['name']}: trùng với «{approved['title']}»")
    expect(error).to_contain_text(f"lịch phát {first.json()['id']}, mức thường")
    expect(error).to_contain_text(f"lúc {day.strftime('%d/%m/%Y')} 19:30")
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
