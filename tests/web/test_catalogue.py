"""The message catalogues: every page string is in both, and translated into Vietnamese."""

from __future__ import annotations

import pytest

from scheduler.web import catalogue, i18n
from scheduler.web import format as fmt


def test_every_message_is_catalogued_and_translated_into_vietnamese() -> None:
    template = catalogue.extract()
    assert len(template) > 50
    assert [p for lang in i18n.LANGUAGES for p in catalogue.problems(lang, template)] == []


def test_vietnamese_words_are_the_agreed_ones() -> None:
    words = {"Bulletins": "Bản tin", "Timetables": "Lịch phát", "Stations": "Trạm",
             "Playback log": "Nhật ký phát", "Emergency broadcast": "Phát khẩn cấp",
             "Log in": "Đăng nhập", "Log out": "Đăng xuất", "Upload": "Tải lên",
             "Approve": "Duyệt", "Reject": "Từ chối", "played": "Đã phát", "missed": "Bị lỡ",
             "failed": "Lỗi", "Topic": "Chủ đề", "Source": "Nguồn tin",
             "Topics and sources": "Chủ đề và nguồn tin", "Another language…": "Ngôn ngữ khác…"}
    assert {en: i18n.gettext("vi", en) for en in words} == words
    assert i18n.gettext("en", "played") == "Played"


def test_dates_read_the_vietnamese_way_in_the_station_zone() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    assert fmt.when(moment, zone="Asia/Ho_Chi_Minh", lang="vi") == "06:00 Thứ Hai, 30/11/2026"
    assert fmt.when(moment, zone="Asia/Ho_Chi_Minh", lang="en") == "06:00 Monday, 30/11/2026"
    assert fmt.level(-16.04, lang="vi") == "-16,0 LUFS"
    assert fmt.duration(65_400) == "1:05"
    assert fmt.in_language("Trạm — station", lang="en") == "station"
    said = fmt.short(moment, zone="Asia/Bangkok", lang="vi")
    assert fmt.zoned(said, zone="Asia/Bangkok", city="Asia/Ho_Chi_Minh", lang="vi") == (
        "06:00:00 30/11/2026 (giờ Bangkok)")
    assert fmt.zoned(said, zone="Asia/Ho_Chi_Minh", city="Asia/Ho_Chi_Minh", lang="vi") == said


def test_the_check_fails_on_a_message_nobody_translated() -> None:
    template = catalogue.extract()
    template.add("A sentence added to a page but to no catalogue")
    assert catalogue.problems("vi", template) == [
        "vi: missing 'A sentence added to a page but to no catalogue'"]


def test_a_page_meeting_an_untranslated_message_says_so_in_the_log(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="scheduler.web.i18n"):
        assert i18n.gettext("vi", "played") == "Đã phát"
        assert i18n.gettext("vi", "Nobody translated this") == "Nobody translated this"
        i18n.gettext("vi", "Nobody translated this")
    assert [r.getMessage() for r in caplog.records] == [
        "untranslated message in vi: 'Nobody translated this'"]


def test_every_audit_action_the_scheduler_writes_has_words() -> None:
    """The users page says each audit entry in words: a new action must be worded."""
    import re
    from pathlib import Path

    from scheduler.web import auditwords

    root = Path(auditwords.__file__).resolve().parents[1]
    written = {found for path in root.rglob("*.py") if "web" not in path.parts[-2:]
               for found in re.findall(r'"((?:user|token|bulletin|station|timetable|broadcast|'
                                       r'programme|group|emergency|feed|topic|source|draft|stream)'
                                       r'\.[a-z_]+)"', path.read_text(encoding="utf-8"))}
    assert len(written) > 20
    assert written - set(auditwords.ACTIONS) - {"user.update"} == set()
