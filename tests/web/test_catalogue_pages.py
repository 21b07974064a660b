"""Languages, topics and sources by name in Chromium: the upload form, the list, the admin page."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from playwright.sync_api import expect

from tests.web.conftest import (
    PHONE,
    Pages,
    api_as,
    submit_upload,
    upload_through_api,
    upload_through_page,
)


def _stored(pages: Pages, bulletin_id: int) -> dict[str, object]:
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        body: dict[str, object] = api.get(f"/bulletins/{bulletin_id}").json()
    return body


def test_upload_with_a_language_topic_and_source_chosen_by_name(pages: Pages,
                                                                speech: Path) -> None:
    page = pages.login("editor")
    page.goto("/bulletins/upload")
    expect(page.locator("#language-name")).to_have_value("Tiếng Việt")
    expect(page.locator("#language-names option").first).to_have_attribute("value",
                                                                           "Tiếng Việt")
    assert page.locator("#language-code").count() == 0  # no clerk needs to know a code
    pages.shot(page, "upload-by-name")
    title = f"Tiêm chủng mở rộng {uuid.uuid4().hex[:6]}"
    bulletin_id = upload_through_page(page, speech, title=title, language="Ê Đê",
                                      topic="Y tế", source="Tiếp âm")
    stored = _stored(pages, bulletin_id)
    assert (stored["language"], stored["topic"], stored["source"]) == ("rad", "y-te", "tiep-am")
    expect(page.locator("#language")).to_have_text("Ê Đê")
    expect(page.locator("#topic")).to_have_text("Y tế")
    expect(page.locator("#source")).to_have_text("Tiếp âm")
    pages.shot(page, "uploaded-by-name")


def test_another_language_is_typed_as_a_code(pages: Pages, speech: Path) -> None:
    """A language not in the list can still be given by its code (lower case, no spaces)."""
    page = pages.login("editor")
    page.goto("/bulletins/upload")
    page.set_input_files("input[name=file]", str(speech))
    page.fill("input[name=title]", f"Thông báo tiếng Kơ Ho {uuid.uuid4().hex[:6]}")
    page.fill("#language-name", "kdt")
    page.fill("input[name=category]", "Sức khoẻ")  # no topic chosen: the category's
    submit_upload(page)
    stored = _stored(pages, int(page.url.rsplit("/", 1)[1]))
    assert (stored["language"], stored["topic"], stored["source"]) == ("kdt", "y-te", None)
    expect(page.locator("#language")).to_have_text("kdt")
    expect(page.locator("#source")).to_have_text("—")


def test_the_list_filters_by_language_topic_and_source_names(pages: Pages,
                                                            speech: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    editor = pages.accounts["editor"]
    upload_through_api(pages.server, editor, speech, title=f"Mùa vụ {tag}", language="rad",
                       topic="san-xuat-kinh-doanh", source="cap-tinh")
    upload_through_api(pages.server, editor, speech, title=f"Lễ hội {tag}", language="rad",
                       topic="van-hoa")
    upload_through_api(pages.server, editor, speech, title=f"Tin tỉnh {tag}",
                       source="cap-tinh")
    page = pages.login("viewer")
    page.goto(f"/bulletins?q={tag}")
    rows = page.locator("#bulletins tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text=f"Mùa vụ {tag}")).to_contain_text(
        "Kiến thức sản xuất, kinh doanh")
    for select, label, titles in (("language", "Ê Đê", ["Lễ hội", "Mùa vụ"]),
                                  ("topic", "Đời sống văn hóa", ["Lễ hội"]),
                                  ("source", "Cấp tỉnh", ["Tin tỉnh", "Mùa vụ"])):
        page.goto(f"/bulletins?q={tag}")
        page.select_option(f"select[name={select}]", label=label)
        page.click("form[role=search] button[type=submit]")
        expect(rows).to_have_count(len(titles))
        for title in titles:
            expect(rows.filter(has_text=f"{title} {tag}")).to_have_count(1)
    pages.shot(page, "filtered-by-source")


def test_admin_adds_renames_and_retires_topics_and_sources(pages: Pages) -> None:
    tag = uuid.uuid4().hex[:6]
    page = pages.login("admin")
    page.click("#nav-catalogue")
    page.wait_for_url(re.compile(r"/catalogue$"))
    expect(page.locator("h1")).to_have_text("Chủ đề và nguồn tin")
    expect(page.locator("#topics-list tbody tr").last).to_contain_text("Khác")
    expect(page.locator("#topics-list tr[data-code='khac'] .deactivate")).to_have_count(0)
    form = page.locator("#add-topics")
    form.locator("input[name=name_vi]").fill(f"Môi trường {tag}")
    form.locator("input[name=name_en]").fill("Environment")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_have_text(f"Đã thêm: Môi trường {tag}.")
    code = f"moi-truong-{tag}"
    row = page.locator(f"#topics-list tr[data-code='{code}']")
    expect(row).to_contain_text("Environment")
    expect(row).to_contain_text("Đang dùng")
    row.locator("summary").click()
    row.locator("input[name=name_vi]").fill(f"Môi trường, đô thị {tag}")
    row.locator("form.rename button[type=submit]").click()
    expect(page.locator(".flash")).to_have_text(f"Đã đổi tên: Môi trường, đô thị {tag}.")
    row.locator(".deactivate").click()
    expect(page.locator(".flash")).to_have_text(f"Đã ngừng dùng: Môi trường, đô thị {tag}.")
    expect(row).to_contain_text("Ngừng dùng")
    # a name like another (case and diacritics aside) is refused, what was typed kept
    form.locator("input[name=name_vi]").fill(f"MOI TRUONG, DO THI {tag}")
    with page.expect_response(lambda r: r.url.endswith("/catalogue/topics")) as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 409
    expect(page.locator("#form-error")).to_contain_text(
        f"Đã có chủ đề 'Môi trường, đô thị {tag}'")
    expect(form.locator("input[name=name_vi]")).to_have_value(f"MOI TRUONG, DO THI {tag}")
    sources = page.locator("#add-sources")
    sources.locator("input[name=name_vi]").fill(f"Đài huyện {tag}")
    sources.locator("button[type=submit]").click()
    expect(page.locator(f"#sources-list tr[data-code='dai-huyen-{tag}']")).to_contain_text(
        f"Đài huyện {tag}")
    pages.shot(page, "catalogue")
    with api_as(pages.server, pages.accounts["viewer"]) as api:
        topic = api.get(f"/topics/{code}").json()
    assert (topic["name_vi"], topic["active"]) == (f"Môi trường, đô thị {tag}", False)
    editor = pages.login("editor")
    editor.goto("/bulletins/upload")
    expect(editor.locator(f"select[name=topic] option[value='{code}']")).to_have_count(0)
    expect(editor.locator(f"select[name=source] option[value='dai-huyen-{tag}']")).to_have_count(1)
    assert editor.locator("#nav-catalogue").count() == 0
    refused = editor.goto("/catalogue")
    assert refused is not None and refused.status == 403


def test_catalogue_page_fits_a_phone(pages: Pages) -> None:
    page = pages.at("/catalogue", role="admin", viewport=PHONE)
    expect(page.locator("#sources-list")).to_contain_text("Tiếp âm")
