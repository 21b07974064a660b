"""The page skeleton: log in and out, role-aware menu, language, layout at both widths."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import VIEWPORTS, Pages, ViewportSize, new_user


def test_login_page_is_vietnamese_and_wrong_password_is_refused(pages: Pages) -> None:
    page = pages.context().new_page()
    page.goto("/")
    expect(page).to_have_url(pages.server.base + "/login?next=/")
    expect(page.locator("h1")).to_have_text("Đăng nhập")
    page.fill("input[name=username]", pages.accounts["viewer"])
    page.fill("input[name=password]", "sai-mat-khau")
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator(".flash.error")).to_have_text("Sai tên đăng nhập hoặc mật khẩu")
    pages.shot(page, "login-refused")


def test_log_in_and_out(pages: Pages) -> None:
    page = pages.login("editor")
    expect(page.locator("h1")).to_have_text("Trang chủ")
    expect(page.locator("nav.menu")).to_contain_text("Nhật ký phát")
    page.click("#logout")
    expect(page.locator("h1")).to_have_text("Đăng nhập")
    page.goto("/")
    expect(page).to_have_url(pages.server.base + "/login?next=/")


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_login_home_and_refusal_pages_fit(pages: Pages, page_at: Callable[..., Page],
                                          viewport: ViewportSize) -> None:
    login = pages.context(viewport).new_page()
    login.goto("/login")
    pages.shot(login, "login")
    page = page_at("/", role="admin", viewport=viewport)
    expect(page.locator("#trouble")).to_be_visible()
    refused = page_at("/bulletins/upload", role="viewer", viewport=viewport, name="403")
    expect(refused.locator("h1")).to_have_text("Không có quyền")


def test_vietnamese_by_default_and_english_on_request(pages: Pages) -> None:
    username = new_user(pages.server, "viewer")
    page = pages.login("viewer", username=username)
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("nav.menu")).to_have_text(re.compile(
        r"Trang chủ\s+Bản tin\s+Lịch phát\s+Trạm\s+Nhật ký phát"))
    expect(page.locator("#logout")).to_have_text("Đăng xuất")
    pages.shot(page, "vi")
    page.goto("/log")
    page.click("button[name=lang][value=en]")
    expect(page).to_have_url(re.compile(r"/log$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Playback log")
    expect(page.locator("nav.menu")).to_have_text(re.compile(
        r"Home\s+Bulletins\s+Timetables\s+Stations\s+Playback log"))
    expect(page.locator(".flash")).to_have_text("Language changed.")
    pages.shot(page, "en")
    # the choice belongs to the user: a fresh browser (no cookies) logs in to English pages
    again = pages.login("viewer", username=username)
    expect(again.locator("h1")).to_have_text("Home")
    again.click("button[name=lang][value=vi]")
    expect(again.locator("h1")).to_have_text("Trang chủ")
