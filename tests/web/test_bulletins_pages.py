"""Bulletin pages in Chromium: upload with progress, listen, approve or reject, find, roles."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import (
    VIEWPORTS,
    Pages,
    ViewportSize,
    api_as,
    approve_through_api,
    approve_through_page,
    finish_upload,
    upload_through_api,
)


def unique(title: str) -> str:
    return f"{title} {uuid.uuid4().hex[:6]}"


def vi_lufs(value: float) -> str:
    """A loudness as the Vietnamese page writes it: decimal comma."""
    return f"{value:.1f}".replace(".", ",") + " LUFS"


def wait_until_audible(page: Page) -> float:
    """Wait until the player has loaded the audio's metadata; return its duration (s)."""
    page.wait_for_function("() => document.querySelector('#player').readyState >= 1 && "
                           "document.querySelector('#player').duration > 0")
    duration: float = page.evaluate("() => document.querySelector('#player').duration")
    return duration


def test_upload_shows_progress_and_the_result(pages: Pages, speech: Path) -> None:
    page = pages.login("editor")
    page.goto("/bulletins/upload")
    pages.shot(page, "upload-form")
    title = unique("Thông báo tiêm chủng")
    page.set_input_files("input[name=file]", str(speech))
    page.fill("input[name=title]", title)
    page.fill("input[name=category]", "Y tế")
    page.click("#upload-form button[type=submit]")
    # the bar fills while the file is sent; then the server processes it
    expect(page.locator("#upload-progress")).to_be_visible()
    expect(page.locator("#upload-progress")).to_have_js_property("value", 100)
    finish_upload(page)
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator("#bulletin-status")).to_have_text("Chờ duyệt")
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        stored = api.get(f"/bulletins/{page.url.rsplit('/', 1)[1]}").json()
    assert stored["title"] == title and stored["category"] == "Y tế"
    expect(page.locator("#loudness-before")).to_have_text(vi_lufs(stored["source_loudness_lufs"]))
    expect(page.locator("#loudness-after")).to_have_text(vi_lufs(stored["loudness_lufs"]))
    seconds = stored["duration_ms"] // 1000
    expect(page.locator("#duration")).to_have_text(f"0:{seconds:02d}")
    assert page.locator("#review").count() == 0  # an editor cannot approve
    pages.shot(page, "uploaded")


def test_upload_refusal_is_shown_in_vietnamese(pages: Pages, tmp_path: Path) -> None:
    not_audio = tmp_path / "ghi-chu.mp3"
    not_audio.write_text("đây không phải âm thanh")
    page = pages.login("editor")
    page.goto("/bulletins/upload")
    page.set_input_files("input[name=file]", str(not_audio))
    page.fill("input[name=title]", unique("Tệp hỏng"))
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#upload-status")).to_contain_text("Tải lên không thành công")
    said = page.locator("#upload-status").inner_text()
    assert " — " not in said and "audio" not in said.lower(), said  # no English tail
    assert page.url.endswith("/bulletins/upload")
    pages.shot(page, "upload-refused")


def test_approver_listens_then_approves(pages: Pages, speech: Path) -> None:
    bulletin = upload_through_api(pages.server, pages.accounts["editor"], speech,
                                  title=unique("Lịch cắt điện"))
    page = pages.login("approver")
    page.goto(f"/bulletins/{bulletin['id']}")
    seconds = wait_until_audible(page)
    assert abs(seconds * 1000 - bulletin["duration_ms"]) < 500
    pages.shot(page, "review")
    approve_through_page(page, bulletin["id"])
    expect(page.locator("#bulletin-status")).to_have_text("Đã duyệt")
    expect(page.locator(".flash")).to_contain_text("Đã duyệt bản tin")
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        assert api.get(f"/bulletins/{bulletin['id']}").json()["status"] == "approved"


def test_approver_rejects_with_a_reason(pages: Pages, speech: Path) -> None:
    bulletin = upload_through_api(pages.server, pages.accounts["editor"], speech,
                                  title=unique("Bản tin thử"))
    page = pages.login("approver")
    page.goto(f"/bulletins/{bulletin['id']}")
    page.fill("textarea[name=reason]", "Đọc sai tên đường Lê Lợi")
    page.click("#reject")
    expect(page.locator("#bulletin-status")).to_have_text("Bị từ chối")
    expect(page.locator("#reject-reason")).to_have_text("Đọc sai tên đường Lê Lợi")
    assert page.locator("#approve").count() == 0
    # the rejection is dated under "Từ chối lúc", with who rejected it, never "Duyệt lúc"
    expect(page.locator("#rejected-at")).to_contain_text(pages.accounts["approver"])
    expect(page.locator("#rejected-at")).to_contain_text("/20")
    expect(page.locator("dl.facts")).to_contain_text("Từ chối lúc")
    expect(page.locator("dl.facts")).not_to_contain_text("Duyệt lúc")


def test_list_search_and_filters(pages: Pages, speech: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    editor = pages.accounts["editor"]
    upload_through_api(pages.server, editor, speech, title=f"Phòng chống bão {tag}",
                       language="vi", category="Thiên tai")
    upload_through_api(pages.server, editor, speech, title=f"Tiêm chủng {tag}",
                       language="rad", category="Y tế")
    page = pages.login("viewer")
    page.goto("/bulletins")
    page.fill("input[name=q]", tag)
    page.click("form[role=search] button[type=submit]")
    expect(page.locator("#bulletins tbody tr")).to_have_count(2)
    page.select_option("select[name=language]", "rad")
    page.click("form[role=search] button[type=submit]")
    expect(page.locator("#bulletins tbody tr")).to_have_count(1)
    expect(page.locator("#bulletins tbody tr")).to_contain_text(f"Tiêm chủng {tag}")
    expect(page.locator("#bulletins tbody tr")).to_contain_text("Ê Đê")
    page.select_option("select[name=language]", "")
    page.select_option("select[name=category]", "Thiên tai")
    page.select_option("select[name=status]", "pending")
    page.click("form[role=search] button[type=submit]")
    expect(page.locator("#bulletins tbody tr")).to_have_count(1)
    expect(page.locator("#bulletins tbody tr")).to_contain_text(f"Phòng chống bão {tag}")
    page.select_option("select[name=status]", "approved")
    page.click("form[role=search] button[type=submit]")
    expect(page.locator("#bulletins tbody tr")).to_have_count(0)
    pages.shot(page, "bulletins-filtered")


def test_paging_keeps_the_filters(pages: Pages, speech: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    for n in range(3):  # pages of two (20 by default)
        upload_through_api(pages.server, pages.accounts["editor"], speech,
                           title=f"Trang {tag} {n:02d}")
    page = pages.login("viewer")
    page.goto(f"/bulletins?q={tag}&limit=2")
    expect(page.locator("#bulletins tbody tr")).to_have_count(2)
    expect(page.locator("nav.pager")).to_contain_text("1–2 trong tổng số 3")
    page.click("a[rel=next]")
    expect(page.locator("#bulletins tbody tr")).to_have_count(1)
    expect(page.locator("#bulletins tbody tr")).to_contain_text(f"Trang {tag} 00")
    assert f"q={tag}" in page.url and "limit=2" in page.url
    page.click("a[rel=prev]")
    expect(page.locator("#bulletins tbody tr")).to_have_count(2)


def test_viewer_cannot_reach_upload(pages: Pages) -> None:
    page = pages.login("viewer")
    assert page.locator("#nav-upload").count() == 0
    page.goto("/bulletins")
    assert page.locator("#upload-button").count() == 0
    answer = page.goto("/bulletins/upload")
    assert answer is not None and answer.status == 403
    expect(page.locator("h1")).to_have_text("Không có quyền")
    pages.shot(page, "viewer-upload-403")
    # the API behind the form refuses the viewer's cookie too
    refused = page.request.post(f"{pages.server.base}/api/v1/bulletins",
                                headers={"Origin": pages.server.base},
                                multipart={"title": "x", "language": "vi"})
    assert refused.status == 403


def test_cookie_requests_from_another_site_are_refused(pages: Pages, speech: Path) -> None:
    bulletin = upload_through_api(pages.server, pages.accounts["editor"], speech,
                                  title=unique("CSRF"))
    page = pages.login("approver")
    for url in (f"/api/v1/bulletins/{bulletin['id']}/approve",
                f"/bulletins/{bulletin['id']}/approve"):
        answer = page.request.post(pages.server.base + url,
                                   headers={"Origin": "http://evil.example"})
        assert answer.status == 403, url
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        assert api.get(f"/bulletins/{bulletin['id']}").json()["status"] == "pending"


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_bulletin_pages_fit(pages: Pages, speech: Path, viewport: ViewportSize) -> None:
    bulletin = upload_through_api(pages.server, pages.accounts["editor"], speech,
                                  title=unique("Thông báo về việc thu gom rác thải sinh hoạt "
                                               "trên địa bàn phường"), category="Môi trường")
    page = pages.login("admin", viewport=viewport)
    for path, name in (("/bulletins", "bulletins"), ("/bulletins/upload", "upload"),
                       (f"/bulletins/{bulletin['id']}", "bulletin")):
        page.goto(path)
        pages.shot(page, name)


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_language_by_name_and_the_same_audio_twice(pages: Pages, speech: Path,
                                                   viewport: ViewportSize) -> None:
    first = upload_through_api(pages.server, pages.accounts["editor"], speech,
                               title=unique("Tiêm chủng bản đầu"))
    page = pages.login("editor", viewport=viewport)
    page.goto("/bulletins/upload")
    page.set_input_files("input[name=file]", str(speech))
    page.fill("input[name=title]", unique("Tiêm chủng tiếng Ê Đê"))
    # a name that is no language: a Vietnamese message in the page, not the browser's
    page.fill("#language-name", "Tiếng Sao Hỏa")
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#upload-status")).to_contain_text(
        "Không có ngôn ngữ «Tiếng Sao Hỏa» trong danh sách")
    assert page.eval_on_selector("#language-name", "e => e.validity.valid")
    pages.shot(page, "unknown-language")
    # "Ede" is Ê Đê; the same audio as an earlier bulletin: warned, linked, then sent on purpose
    page.fill("#language-name", "Ede")
    page.click("#upload-form button[type=submit]")
    warning = page.locator("#duplicate-warning")
    expect(warning).to_be_visible(timeout=60_000)
    expect(warning).to_contain_text("Âm thanh này đã được tải lên trong bản tin")
    expect(page.locator("#duplicate-link")).to_have_text(first["title"])
    expect(page.locator("#duplicate-link")).to_have_attribute("href", f"/bulletins/{first['id']}")
    expect(page.locator("#upload-anyway")).to_have_text("Tải lên dù trùng")
    pages.shot(page, "duplicate-warning")
    assert page.url.endswith("/bulletins/upload")
    page.click("#upload-anyway")
    page.wait_for_url(re.compile(r"/bulletins/\d+$"), timeout=60_000)
    expect(page.locator("#language")).to_have_text("Ê Đê")
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        stored = api.get(f"/bulletins/{page.url.rsplit('/', 1)[1]}").json()
    assert stored["language"] == "rad" and stored["id"] != first["id"]


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_replace_the_audio_then_delete_a_pending_bulletin(
        pages: Pages, speech: Path, speech_m4a: Path, viewport: ViewportSize) -> None:
    title = unique("Họp tổ dân phố")
    bulletin = upload_through_api(pages.server, pages.accounts["editor"], speech, title=title)
    page = pages.login("editor", viewport=viewport)
    page.goto(f"/bulletins/{bulletin['id']}")
    pages.shot(page, "pending-with-replace")
    page.set_input_files("#replace-form input[name=file]", str(speech_m4a))
    page.click("#replace-button")
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        def replaced() -> dict[str, object]:
            body: dict[str, object] = api.get(f"/bulletins/{bulletin['id']}").json()
            return body
        page.wait_for_function(
            f"() => document.querySelector('#loudness-before').textContent !== "
            f"'{vi_lufs(bulletin['source_loudness_lufs'])}'", timeout=60_000)
        after = replaced()
    assert after["sha256"] != bulletin["sha256"] and after["original_filename"] == "loud.m4a"
    expect(page.locator("#loudness-before")).to_have_text(
        vi_lufs(float(str(after["source_loudness_lufs"]))))
    pages.shot(page, "replaced")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete")
    page.wait_for_url(re.compile(r"/bulletins$"))
    expect(page.locator(".flash")).to_have_text(f"Đã xóa bản tin «{title}».")
    pages.shot(page, "deleted")
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        assert api.get(f"/bulletins/{bulletin['id']}").status_code == 404


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_an_approved_bulletin_is_scheduled_from_its_page_or_archived(
        pages: Pages, speech: Path, viewport: ViewportSize) -> None:
    title = unique("Lịch thu gom rác")
    bulletin = upload_through_api(pages.server, pages.accounts["editor"], speech, title=title)
    approve_through_api(pages.server, pages.accounts["approver"], bulletin["id"])
    page = pages.login("admin", viewport=viewport)
    page.goto(f"/bulletins/{bulletin['id']}")
    assert page.locator("#replace").count() == 0  # an approved bulletin's audio never changes
    expect(page.locator("#schedule-bulletin")).to_have_text("Xếp lịch phát bản tin này")
    page.click("#schedule-bulletin")
    page.wait_for_url(re.compile(rf"/timetables/new\?bulletin_id={bulletin['id']}$"))
    expect(page.locator("select[name=what]")).to_have_value(f"b:{bulletin['id']}")
    page.goto(f"/bulletins/{bulletin['id']}")
    expect(page.locator("#remove")).to_contain_text("không bao giờ bị xóa")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete")
    page.wait_for_url(re.compile(rf"/bulletins/{bulletin['id']}$"))
    expect(page.locator(".flash")).to_contain_text(
        f"Bản tin «{title}» đã được lưu trữ, không bị xóa")
    expect(page.locator("#archived-badge")).to_have_text("Đã lưu trữ")
    expect(page.locator("#archived-note")).to_contain_text("vẫn được giữ cho nhật ký phát")
    assert page.locator("#delete").count() == 0
    pages.shot(page, "archived")
    page.goto(f"/bulletins?q={title}")
    expect(page.locator("#bulletins tbody tr")).to_have_count(0)
    page.goto(f"/bulletins?q={title}&status=archived")
    expect(page.locator("#bulletins tbody tr")).to_have_count(1)
    pages.shot(page, "archived-list")
