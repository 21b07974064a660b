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
    for text in ("decoder exited with status 1", "preempted by playback 12",
                 "conflict with timetable 3 (playback 9)", "latecomer: x"):
        assert label(text, zone=HCM, lang="vi") == text
    assert label(None, zone=HCM, lang="vi") == ""
    assert reasons.code("preempted by playback 12") is None
    assert reasons.code("plan_not_delivered: never") == "plan_not_delivered"
