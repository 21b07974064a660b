"""Reasons are labelled in the reader's language, with times in the station's zone."""

from __future__ import annotations

from datetime import UTC, datetime

from scheduler.playbacks import reasons
from scheduler.web.reasons import label

HCM = "Asia/Ho_Chi_Minh"


def test_reason_codes_read_in_vietnamese_with_local_times() -> None:
    gone = reasons.plan_not_delivered(datetime(2026, 11, 28, 23, 30, 5, 400_000, tzinfo=UTC))
    assert gone == ("plan_not_delivered: the plan never reached the station; "
                    "offline since 2026-11-28T23:30:05Z")
    assert label(gone, zone=HCM, lang="vi") == (
        "Kế hoạch phát chưa đến được trạm: trạm mất kết nối từ 06:30:05 29/11/2026")
    assert label(gone, zone="UTC", lang="en") == (
        "The plan never reached the station: offline since 23:30:05 28/11/2026")
    assert label(reasons.plan_not_delivered(None), zone=HCM, lang="vi") == (
        "Kế hoạch phát chưa đến được trạm: trạm chưa kết nối lần nào")
    assert label("late", zone=HCM, lang="vi") == "Đã qua giờ phát mà trạm chưa phát được"
    assert label(reasons.offline_no_report(), zone=HCM, lang="vi") == (
        "Trạm mất kết nối lúc đến giờ phát và chưa báo lại")
    # written before reasons began with a code
    assert label("no start reported while the station was online", zone=HCM, lang="vi") == (
        "Trạm trực tuyến nhưng không báo bắt đầu phát")
    assert label("played to the end", zone=HCM, lang="vi") == "Đã phát hết"


def test_unknown_reasons_are_shown_as_stored() -> None:
    for text in ("decoder exited with status 1", "latecomer: x"):
        assert label(text, zone=HCM, lang="vi") == text
    assert label(None, zone=HCM, lang="vi") == ""
    assert reasons.code("preempted by playback 12") is None
    assert reasons.code("plan_not_delivered: never") == "plan_not_delivered"


def test_the_agents_and_planners_numbered_reasons_read_as_words() -> None:
    said = {text: label(text, zone=HCM, lang="vi") for text in (
        "preempted by playback 7", "playback 12 was due", "stopped by command 3f2a",
        "conflict with timetable 4 (playback 19)", "agent_error: sink closed",
        "late=1250ms; clock_offset=-40ms", "late=300ms; clock_offset=2600ms")}
    assert said == {
        "preempted by playback 7": "Nhường cho lượt phát có mức ưu tiên cao hơn",
        "playback 12 was due": "Dừng để phát lượt kế tiếp theo lịch",
        "stopped by command 3f2a": "Người vận hành đã dừng phát",
        "conflict with timetable 4 (playback 19)": "Một lượt phát khác đã giữ khung giờ này",
        "agent_error: sink closed": "Trình phát ở trạm bị lỗi",
        "late=1250ms; clock_offset=-40ms": "Bắt đầu muộn 1,3 giây",
        "late=300ms; clock_offset=2600ms": "Bắt đầu muộn 0,3 giây; đồng hồ trạm lệch 2,6 giây"}
