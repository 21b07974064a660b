"""The message catalogues: every page string is in both, and translated into Vietnamese."""

from __future__ import annotations

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
