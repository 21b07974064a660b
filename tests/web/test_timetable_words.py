"""The timetable editor's reading of days and times as people write them, the one RRULE it
writes for them, and the rule said back in Vietnamese (and English) words."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from dateutil.rrule import rrulestr

from scheduler.web import recurrence_picker as picker
from scheduler.web.recurrence_picker import FormValue

WORKDAYS = ["MO", "TU", "WE", "TH", "FR"]


@pytest.mark.parametrize(("typed", "times"), [
    ("06:00 và 17:00", [time(6), time(17)]),
    ("17:00, 6:00", [time(6), time(17)]),
    ("6h 17h30", [time(6), time(17, 30)]),
    ("06:00 and 17:00;06:00", [time(6), time(17)]),
    ("  05.45  ", [time(5, 45)]),
])
def test_times_are_read_as_typed(typed: str, times: list[time]) -> None:
    assert picker.parse_times(typed) == times


@pytest.mark.parametrize("typed", ["25:00", "06:60", "6 giờ sáng", "06:00 AM", "noon"])
def test_a_bad_time_is_refused_in_vietnamese(typed: str) -> None:
    with pytest.raises(FormValue) as refused:
        picker.parse_times(typed)
    assert refused.value.field == "at"
    assert "không phải là giờ hợp lệ" in refused.value.said("vi")
    assert "24 giờ" in refused.value.said("vi")
    assert "is not a time" in refused.value.said("en")


def test_no_time_is_refused() -> None:
    with pytest.raises(FormValue) as refused:
        picker.parse_times(" , ")
    assert refused.value.said("vi").startswith("Hãy nhập ít nhất một giờ phát")


@pytest.mark.parametrize(("typed", "day"), [
    ("07/12/2026", date(2026, 12, 7)), ("7/12/2026", date(2026, 12, 7)),
    ("07-12-2026", date(2026, 12, 7)), ("2026-12-07", date(2026, 12, 7)),
])
def test_days_are_read_day_first(typed: str, day: date) -> None:
    assert picker.parse_day(typed, field="starts_at") == day


@pytest.mark.parametrize("typed", ["12/31/2026", "31/02/2026", "mai", "07/12"])
def test_a_bad_day_is_refused_in_vietnamese(typed: str) -> None:
    with pytest.raises(FormValue) as refused:
        picker.parse_day(typed, field="until")
    assert refused.value.field == "until"
    assert refused.value.said("vi") == (f"«{typed}» không phải là ngày hợp lệ: hãy viết theo "
                                        "dạng ngày/tháng/năm (dd/mm/yyyy), ví dụ 07/12/2026.")


def test_an_empty_optional_day_is_none() -> None:
    assert picker.parse_day("", field="until", required=False) is None
    with pytest.raises(FormValue):
        picker.parse_day("", field="starts_at")


def _plays(rule: str, start: datetime, count: int) -> list[str]:
    return [f"{d:%a %H:%M}" for d in list(rrulestr(rule, dtstart=start))[:count]]


def test_workdays_at_two_times_are_one_rule() -> None:
    rule = picker.rule_for(repeat="weekly", weekdays=WORKDAYS, times=[time(6), time(17)],
                           custom="", start_weekday=0)
    assert rule == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6,17;BYMINUTE=0"
    plays = _plays(rule, datetime(2026, 12, 7, 6), 12)  # a Monday
    assert plays[:4] == ["Mon 06:00", "Mon 17:00", "Tue 06:00", "Tue 17:00"]
    assert plays[10:] == ["Mon 06:00", "Mon 17:00"]  # no Saturday, no Sunday


def test_times_with_different_minutes_play_only_those_times() -> None:
    rule = picker.rule_for(repeat="weekly", weekdays=["SA", "MO"], times=[time(6), time(17, 30)],
                           custom="", start_weekday=0)
    assert rule == "FREQ=DAILY;BYDAY=MO,SA;BYHOUR=6,17;BYMINUTE=0,30;BYSETPOS=1,4"
    assert _plays(rule, datetime(2026, 12, 7, 6), 4) == [
        "Mon 06:00", "Mon 17:30", "Sat 06:00", "Sat 17:30"]
    assert picker.choice_for(rule) == picker.Choice("weekly", ["MO", "SA"],
                                                    [time(6), time(17, 30)])


def test_every_day_and_once_at_several_times() -> None:
    every = picker.rule_for(repeat="weekly", weekdays=list(picker.WEEKDAYS),
                            times=[time(6), time(17)], custom="", start_weekday=0)
    assert every == "FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0"
    once = picker.rule_for(repeat="once", weekdays=[], times=[time(6), time(17, 30)],
                           custom="", start_weekday=0)
    assert once == "FREQ=DAILY;COUNT=2;BYHOUR=6,17;BYMINUTE=0,30;BYSETPOS=1,4"
    assert list(rrulestr(once, dtstart=datetime(2026, 12, 7, 6))) == [
        datetime(2026, 12, 7, 6), datetime(2026, 12, 7, 17, 30)]
    assert picker.choice_for(once) == picker.Choice("once", [], [time(6), time(17, 30)])
    # one time: the start's own, as rules written before the times were listed
    assert picker.rule_for(repeat="once", weekdays=[], times=[time(6)], custom="",
                           start_weekday=0) is None
    assert picker.rule_for(repeat="weekly", weekdays=["FR", "MO"], times=[time(6)], custom="",
                           start_weekday=0) == "FREQ=WEEKLY;BYDAY=MO,FR"
    assert picker.rule_for(repeat="weekly", weekdays=[], times=[time(6)], custom="",
                           start_weekday=3) == "FREQ=WEEKLY;BYDAY=TH"


def test_stored_rules_read_back_into_the_picker() -> None:
    assert picker.choice_for("FREQ=DAILY") == picker.Choice("weekly", list(picker.WEEKDAYS))
    assert picker.choice_for("FREQ=WEEKLY;BYDAY=MO,FR") == picker.Choice("weekly", ["MO", "FR"])
    assert picker.choice_for("FREQ=MONTHLY") == picker.Choice("monthly")
    assert picker.choice_for(None) == picker.Choice("once")
    for odd in ("FREQ=DAILY;BYHOUR=6,17", "FREQ=WEEKLY;BYDAY=1MO", "FREQ=WEEKLY;INTERVAL=2",
                "FREQ=WEEKLY"):
        assert picker.choice_for(odd) == picker.Choice("custom", custom=odd)


def test_the_rule_is_said_in_vietnamese_words() -> None:
    start, until = datetime(2026, 12, 7, 6), date(2026, 12, 31)
    rule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6,17;BYMINUTE=0"
    assert picker.describe(rule, lang="vi", start=start, until=until) == \
        "Thứ Hai–Thứ Sáu, lúc 06:00 và 17:00, từ 07/12/2026 đến 31/12/2026"
    assert picker.describe(rule, lang="en", start=start) == \
        "Monday–Friday, at 06:00 and 17:00, from 07/12/2026"
    assert picker.describe("FREQ=DAILY;BYHOUR=6,12,17;BYMINUTE=0", lang="vi", start=start) == \
        "Hằng ngày, lúc 06:00, 12:00 và 17:00, từ 07/12/2026"
    assert picker.describe("FREQ=WEEKLY;BYDAY=MO,WE,FR", lang="vi", start=start) == \
        "Thứ Hai, Thứ Tư, Thứ Sáu, lúc 06:00, từ 07/12/2026"
    assert picker.describe("FREQ=WEEKLY;BYDAY=SA,SU", lang="vi") == "Thứ Bảy, Chủ Nhật"
    assert picker.describe(None, lang="vi", start=start) == "Ngày 07/12/2026, lúc 06:00"
    assert picker.describe("FREQ=MONTHLY", lang="vi", start=start) == \
        "Hằng tháng vào ngày 7, lúc 06:00, từ 07/12/2026"
    custom = picker.describe("FREQ=WEEKLY;INTERVAL=2", lang="vi", start=start)
    assert "FREQ" not in custom and custom.startswith("Theo quy tắc riêng")


def test_a_rule_that_stops_after_a_count_is_said_with_it() -> None:
    assert picker.describe("FREQ=DAILY;COUNT=5", lang="vi", start=datetime(2026, 12, 9, 6, 0)) == (
        "Hằng ngày, lúc 06:00, từ 09/12/2026, 5 lần")
    assert picker.describe("FREQ=WEEKLY;BYDAY=MO,FR;COUNT=4", lang="en") == (
        "Monday, Friday, 4 times")
    assert picker.describe("FREQ=MINUTELY;COUNT=8", lang="vi") == "Theo quy tắc riêng"
