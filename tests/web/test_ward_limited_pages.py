"""Pages in Chromium for a user limited to one ward: no list, picker or filter shows another
ward's stations or groups."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import (
    PASSWORD,
    Pages,
    approve_through_api,
    upload_through_api,
)
from wardcast.protocol import to_wire


@dataclass
class Wards:
    marker: str  # in every name of the other ward: no page may show it
    own_station: str
    mixed_timetable: int
    market: str  # a group with a station of each ward
    editor: str
    approver: str


@pytest.fixture
def wards(pages: Pages, speech: Path) -> Wards:
    tag = uuid.uuid4().hex[:6]
    marker = f"EaTam{tag}"
    own_ward, own_station = f"Phường Tân Lợi {tag}", f"Trạm Tân Lợi {tag}"
    market = f"Cụm loa chợ {tag}"
    bulletin = upload_through_api(pages.server, pages.accounts["editor"], speech,
                                  title=f"Bản tin {tag}")
    approve_through_api(pages.server, pages.accounts["approver"], bulletin["id"])
    with pages.server.api() as api:
        def made(path: str, body: object) -> int:
            answer = api.post(path, json=body)
            assert answer.status_code == 201, answer.text
            return int(answer.json()["id"])

        own = made("/stations", {"name": own_station, "ward": own_ward})
        foreign = made("/stations", {"name": f"Trạm chợ {marker}", "ward": f"Phường {marker}"})
        made("/groups", {"name": f"Nhóm {marker}", "kind": "ward", "station_ids": [foreign]})
        made("/groups", {"name": market, "kind": "cluster", "station_ids": [own, foreign]})
        mixed = made("/timetables", {
            "bulletin_id": bulletin["id"], "station_ids": [own, foreign],
            "starts_at": to_wire(datetime.now(UTC) + timedelta(days=1))})
        names = {}
        for role in ("editor", "approver"):
            names[role] = f"{role}-{tag}"
            made("/users", {"username": names[role], "password": PASSWORD, "role": role,
                            "wards": [own_ward]})
    return Wards(marker=marker, own_station=own_station, mixed_timetable=mixed, market=market,
                 editor=names["editor"], approver=names["approver"])


def _nothing_of_the_other_ward(page: Page, wards: Wards) -> None:
    assert wards.marker not in page.content(), f"{page.url} shows the other ward"


def test_the_timetable_list_shows_only_the_users_stations(pages: Pages, wards: Wards) -> None:
    page = pages.login("editor", username=wards.editor)
    page.goto("/timetables")
    row = page.locator(f"#timetables tr[data-timetable='{wards.mixed_timetable}']")
    expect(row).to_contain_text(wards.own_station)
    _nothing_of_the_other_ward(page, wards)
    expect(row.locator(".other-wards")).to_have_text("+ 1 trạm ở phường khác")
    # it also plays elsewhere: the user may not change it, so the page offers no button
    expect(row.locator("a[href$='/edit']")).to_have_count(0)
    expect(row.locator("form[action$='/delete']")).to_have_count(0)
    expect(page.locator("select[name=group_id] option", has_text=wards.market)).to_have_count(1)
    pages.shot(page, "timetables-ward-limited")


def test_the_timetable_editor_offers_only_groups_reaching_the_users_wards(
        pages: Pages, wards: Wards) -> None:
    page = pages.login("editor", username=wards.editor)
    page.goto("/timetables/new")
    market = page.locator("#groups-choice label.choice", has_text=wards.market)
    expect(market).to_contain_text("(1)")  # the user's one station of it
    _nothing_of_the_other_ward(page, wards)


def test_the_emergency_page_offers_only_groups_reaching_the_users_wards(
        pages: Pages, wards: Wards) -> None:
    page = pages.login("approver", username=wards.approver)
    page.goto("/emergency")
    expect(page.locator("label.choice", has_text=wards.market)).to_contain_text("(1)")
    expect(page.locator("#emergency-stations")).to_contain_text(wards.own_station)
    _nothing_of_the_other_ward(page, wards)


def test_the_log_filters_offer_only_groups_reaching_the_users_wards(
        pages: Pages, wards: Wards) -> None:
    page = pages.login("editor", username=wards.editor)
    page.goto("/log")
    expect(page.locator("select[name=group_id] option", has_text=wards.market)).to_have_count(1)
    _nothing_of_the_other_ward(page, wards)


def test_an_admin_limited_to_a_ward_is_not_offered_the_users_page(
        pages: Pages, wards: Wards) -> None:
    username = f"admin-{uuid.uuid4().hex[:6]}"
    with pages.server.api() as api:
        answer = api.post("/users", json={"username": username, "password": PASSWORD,
                                          "role": "admin", "wards": [f"Phường {wards.marker}"]})
        assert answer.status_code == 201, answer.text
    page = pages.login("admin", username=username)
    expect(page.locator("nav.menu")).to_contain_text("Bản tin")
    expect(page.locator("#nav-users")).to_have_count(0)
    assert page.goto("/users").status == 403  # type: ignore[union-attr]
    page = pages.login("admin")  # an admin of every ward has it
    expect(page.locator("#nav-users")).to_have_count(1)
