"""The admin's users page in Chromium, at desktop and phone width: create an account, change
its role and ward limits, reset its password, the user logs in with it, deactivate it and the
user is out; the audit log says it all in words. Other roles are refused."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.web.conftest import DESKTOP, PHONE, Pages, register_station


def _row(page: Page, username: str):  # type: ignore[no-untyped-def]
    return page.locator(f'#user-list tr[data-username="{username}"]')


def _open_change(page: Page, username: str) -> None:
    row = _row(page, username)
    row.locator("details summary").click()
    expect(row.locator(".role-form")).to_be_visible()


def _log_in(pages: Pages, viewport: ViewportSize, username: str, password: str) -> Page:
    page = pages.context(viewport).new_page()
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")
    return page


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_admin_manages_an_account_from_creation_to_deactivation(
        pages: Pages, viewport: ViewportSize) -> None:
    tag = uuid.uuid4().hex[:6]
    ward = f"Phường Tân Lợi {tag}"
    register_station(pages.server, ward)  # the station's ward is its name
    username = f"thu-ky-{tag}"
    page = pages.login("admin", viewport=viewport)
    if viewport is DESKTOP:
        page.click("#nav-users")
    else:
        page.goto("/users")
    expect(page.locator("h1")).to_have_text("Người dùng")
    expect(_row(page, pages.accounts["editor"]).locator(".role")).to_have_text("Biên tập viên")
    pages.shot(page, "users")

    # create: a role by its Vietnamese name, a ward from those that exist, a made-up password
    form = page.locator("#create-user")
    form.locator("input[name=username]").fill(username)
    form.locator("select[name=role]").select_option(label="Biên tập viên")
    form.get_by_label(ward).check()
    form.locator("button[type=submit]").click()
    expect(page.locator("#secret")).to_contain_text(f"Đã tạo tài khoản {username}")
    first = page.locator("#new-password").input_value()
    assert re.fullmatch(r"\w{4}-\w{4}-\w{4}", first), first
    expect(_row(page, username).locator(".wards")).to_have_text(ward)
    expect(_row(page, username).locator(".last-login")).to_have_text("chưa rõ")
    pages.shot(page, "created")

    # the role, then the ward limits (none ticked: every ward)
    _open_change(page, username)
    _row(page, username).locator(".role-form select").select_option(label="Người duyệt")
    _row(page, username).locator(".role-form button").click()
    expect(page.locator(".flash")).to_have_text(f"Vai trò mới của {username}: Người duyệt.")
    expect(_row(page, username).locator(".role")).to_have_text("Người duyệt")
    _open_change(page, username)
    _row(page, username).locator(".wards-form").get_by_label(ward).uncheck()
    _row(page, username).locator(".wards-form button").click()
    expect(_row(page, username).locator(".wards")).to_have_text("Mọi phường/xã")
    _open_change(page, username)
    _row(page, username).locator(".wards-form").get_by_label(ward).check()
    _row(page, username).locator(".wards-form button").click()
    expect(_row(page, username).locator(".wards")).to_have_text(ward)

    # reset the password: a new one, shown once; the first one no longer opens the account
    _open_change(page, username)
    pages.shot(page, "change")
    _row(page, username).locator(".password-form button").click()
    expect(page.locator("#secret")).to_contain_text(f"Đã đặt mật khẩu mới cho {username}")
    second = page.locator("#new-password").input_value()
    assert second != first
    pages.shot(page, "password-reset")
    refused = _log_in(pages, viewport, username, first)
    expect(refused.locator("[role=alert]")).to_have_text("Sai tên đăng nhập hoặc mật khẩu")
    user_page = _log_in(pages, viewport, username, second)
    expect(user_page.locator(".who")).to_contain_text(f"{username} · Người duyệt")
    expect(user_page.locator("#nav-users")).to_have_count(0)

    # deactivate: the user's open session ends and the password no longer logs in
    page.goto("/users")
    expect(_row(page, username).locator(".last-login")).to_have_text(
        re.compile(r"^\d\d:\d\d:\d\d \d\d/\d\d/\d{4}$"))
    _row(page, username).locator("button.deactivate").click()
    expect(page.locator(".flash")).to_contain_text(f"Đã khoá tài khoản {username}")
    expect(_row(page, username).locator(".status")).to_have_text("Đã khoá")
    user_page.reload()
    expect(user_page).to_have_url(re.compile(r"/login"))
    again = _log_in(pages, viewport, username, second)
    expect(again.locator("[role=alert]")).to_have_text("Sai tên đăng nhập hoặc mật khẩu")
    pages.shot(again, "deactivated-cannot-log-in")

    # the audit log, newest first, in words and local time
    entries = page.locator("#audit-log tbody tr").filter(has_text=username)
    expect(entries.locator(".what")).to_have_text([
        "khoá tài khoản", "đặt lại mật khẩu", f"giới hạn trong các phường/xã: {ward}",
        "bỏ giới hạn phường/xã", "đổi vai trò thành Người duyệt",
        "tạo tài khoản (Biên tập viên)"])
    expect(entries.locator(".who-did")).to_have_text([pages.accounts["admin"]] * 6)
    expect(entries.first.locator(".when")).to_have_text(
        re.compile(r"^\d\d:\d\d:\d\d \d\d/\d\d/\d{4}$"))
    page.locator("#audit").scroll_into_view_if_needed()
    pages.shot(page, "audit-log")


def test_a_refusal_is_shown_in_the_page_and_other_roles_are_forbidden(pages: Pages) -> None:
    page = pages.login("admin", viewport=PHONE)
    page.goto("/users")
    form = page.locator("#create-user")
    form.locator("input[name=username]").fill(pages.accounts["viewer"])
    form.locator("input[name=password]").fill("mat-khau-moi-1")
    form.locator("button[type=submit]").click()
    expect(page.locator("#form-error")).to_have_text(
        f"Người dùng {pages.accounts['viewer']} đã tồn tại")
    form.locator("input[name=password]").fill("abc")
    form.locator("input[name=username]").fill(f"yeu-{uuid.uuid4().hex[:6]}")
    form.locator("button[type=submit]").click()
    expect(page.locator("#form-error")).to_contain_text("Mật khẩu quá yếu")
    pages.shot(page, "refused")

    for role in ("editor", "viewer"):
        other = pages.login(role, viewport=PHONE)
        expect(other.locator("#nav-users")).to_have_count(0)
        answer = other.goto("/users")
        assert answer is not None and answer.status == 403
        expect(other.locator("h1")).to_have_text("Không có quyền")
        pages.shot(other, f"forbidden-{role}")
