"""Report periods: Decree 09/2019 cut-offs by default, any dates, and the previous period."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from scheduler.errors import InvalidInput
from scheduler.reports.cutoffs import Cutoffs
from scheduler.reports.periods import between, current_year, named

ZONE = "Asia/Ho_Chi_Minh"
DEFAULT = Cutoffs()


def test_the_six_month_and_yearly_periods_follow_the_decree() -> None:
    h1 = named("2026-H1", timezone=ZONE, cutoffs=DEFAULT)
    assert (h1.first, h1.last) == (date(2025, 12, 15), date(2026, 6, 14))
    h2 = named("2026-H2", timezone=ZONE, cutoffs=DEFAULT)
    assert (h2.first, h2.last) == (date(2026, 6, 15), date(2026, 12, 14))
    year = named("2026", timezone=ZONE, cutoffs=DEFAULT)
    assert (year.first, year.last, year.days) == (date(2025, 12, 15), date(2026, 12, 14), 365)
    assert (h1.title(), h2.title(), year.title()) == (
        "6 tháng đầu năm 2026", "6 tháng cuối năm 2026", "Năm 2026")


def test_local_dates_become_utc_instants_in_the_citys_zone() -> None:
    h1 = named("2026-H1", timezone=ZONE, cutoffs=DEFAULT)
    assert h1.start == datetime(2025, 12, 14, 17, 0, tzinfo=UTC)  # 00:00 on 15/12, UTC+7
    assert h1.end == datetime(2026, 6, 14, 17, 0, tzinfo=UTC)  # 00:00 on 15/06


def test_the_previous_period() -> None:
    h1 = named("2026-H1", timezone=ZONE, cutoffs=DEFAULT)
    assert h1.previous(DEFAULT).name == "2025-H2"
    assert named("2026-H2", timezone=ZONE, cutoffs=DEFAULT).previous(DEFAULT).name == "2026-H1"
    assert named("2026", timezone=ZONE, cutoffs=DEFAULT).previous(DEFAULT).name == "2025"
    march = between(date(2026, 3, 1), date(2026, 3, 31), timezone=ZONE)
    before = march.previous(DEFAULT)
    assert (before.first, before.last) == (date(2026, 1, 29), date(2026, 2, 28))
    assert march.title() == "Từ 01/03/2026 đến 31/03/2026"


def test_calendar_cutoffs_are_a_setting() -> None:
    calendar = Cutoffs.parse("01-01", "07-01")
    year = named("2026", timezone=ZONE, cutoffs=calendar)
    assert (year.first, year.last) == (date(2026, 1, 1), date(2026, 12, 31))
    h2 = named("2026-H2", timezone=ZONE, cutoffs=calendar)
    assert (h2.first, h2.last) == (date(2026, 7, 1), date(2026, 12, 31))
    with pytest.raises(ValueError, match="MM-DD"):
        Cutoffs.parse("02-30", "07-01")


def test_which_report_year_a_day_belongs_to() -> None:
    assert current_year(date(2026, 12, 14), DEFAULT) == 2026
    assert current_year(date(2026, 12, 15), DEFAULT) == 2027
    assert current_year(date(2026, 1, 1), DEFAULT) == 2026


@pytest.mark.parametrize("name", ["2026-H3", "26", "2026-h1x", "1999", ""])
def test_a_bad_period_is_refused_by_name(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        named(name, timezone=ZONE, cutoffs=DEFAULT)
    assert refused.value.field == "period"


def test_dates_backwards_or_too_long_are_refused() -> None:
    with pytest.raises(InvalidInput, match="before"):
        between(date(2026, 3, 2), date(2026, 3, 1), timezone=ZONE)
    with pytest.raises(InvalidInput, match="three years"):
        between(date(2020, 1, 1), date(2026, 1, 1), timezone=ZONE)
