"""The work per recurrence rule is bounded: costly rules are refused, expansion starts at the
window, and dateutil's walk ends soon after it. Work is counted (occurrences dateutil yields,
months it walks), never timed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import _iterinfo, rrule, rrulestr
from fastapi.testclient import TestClient

from scheduler.errors import InvalidInput
from scheduler.timetables import recurrence
from tests.scheduler.conftest import approved_bulletin, station
from wardcast.protocol import to_wire

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NEVER = "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30"


class Walk:
    """How much work dateutil did: occurrences yielded, months (or years) walked."""

    def __init__(self) -> None:
        self.yielded = 0
        self.months = 0


@pytest.fixture
def walk(monkeypatch: pytest.MonkeyPatch) -> Walk:
    counted = Walk()
    iterate, rebuild = rrule._iter, _iterinfo.rebuild  # type: ignore[attr-defined]

    def counting_iter(self: rrule) -> Iterator[datetime]:
        for item in iterate(self):
            counted.yielded += 1
            yield item

    def counting_rebuild(self: _iterinfo, year: int, month: int) -> None:
        counted.months += 1
        rebuild(self, year, month)

    monkeypatch.setattr(rrule, "_iter", counting_iter)
    monkeypatch.setattr(_iterinfo, "rebuild", counting_rebuild)
    return counted


def test_a_rule_from_2016_is_expanded_from_the_window(walk: Walk) -> None:
    now = datetime.now(UTC)
    found = recurrence.occurrences(
        wall_start=datetime(2016, 3, 1, 6, 3), rule_text="FREQ=MINUTELY;INTERVAL=7", zone=HCM,
        window_start=now, window_end=now + timedelta(hours=48), until=None)
    yielded = walk.yielded
    assert len(found) in (411, 412)  # every 7 minutes for 48 hours
    assert all(b - a == timedelta(minutes=7) for a, b in zip(found, found[1:], strict=False))
    # the same instants as walking from 2016 (checked with dateutil itself)
    reference = rrulestr("FREQ=MINUTELY;INTERVAL=7", dtstart=datetime(2016, 3, 1, 6, 3))
    assert reference.after(found[0].astimezone(HCM).replace(tzinfo=None), inc=True) == \
        found[0].astimezone(HCM).replace(tzinfo=None)
    # Walked from DTSTART it would yield some 800,000 occurrences; from the window, the window
    # and a day either side of it (the margin for zone offsets), plus one period in hand.
    assert yielded < 2 * 412 + 2 * 24 * 60 // 7


def test_a_monthly_rule_on_the_31st_keeps_its_months(walk: Walk) -> None:
    now = datetime.now(UTC)
    found = recurrence.occurrences(
        wall_start=datetime(2016, 1, 31, 6), rule_text="FREQ=MONTHLY", zone=HCM,
        window_start=now, window_end=now + timedelta(days=366), until=None)
    assert len(found) == 7 and {f.astimezone(HCM).day for f in found} == {31}
    assert walk.yielded < 12


def test_a_rule_that_never_plays_is_refused_after_a_bounded_walk(walk: Walk) -> None:
    with pytest.raises(InvalidInput, match="never plays") as refused:
        recurrence.check_rule(NEVER, dtstart=datetime(2030, 1, 1, 6),
                              not_before=datetime(2026, 1, 1), until=None)
    assert refused.value.field == "recurrence"
    # walking to the year 9999 was 95,000 months; the probe is 8 years and at most 28 more
    assert walk.months <= 12 * (recurrence.PROBE_YEARS + 28 + 1)


def test_planning_a_stored_rule_that_never_plays_walks_a_bounded_distance(walk: Walk) -> None:
    """Rules stored before the check (or by an older version) cost the planner little."""
    now = datetime.now(UTC)
    found = recurrence.occurrences(wall_start=datetime(2016, 1, 1), rule_text=NEVER, zone=HCM,
                                   window_start=now, window_end=now + timedelta(hours=48),
                                   until=None)
    assert found == []
    assert walk.months <= 12 * 30


@pytest.mark.parametrize(("rule", "words"), [
    (NEVER, "never plays"),
    ("FREQ=DAILY;INTERVAL=7;BYDAY=TU", "never plays"),  # the start is a Monday: never Tuesday
    ("FREQ=MINUTELY;INTERVAL=7", "more often than every 15 minutes"),
    ("FREQ=MINUTELY", "more often than every 15 minutes"),
    ("FREQ=HOURLY;BYMINUTE=0,5", "more often than every 15 minutes"),
    ("FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0,30", "more often than every 15 minutes"),
    ("FREQ=DAILY;COUNT=5000", "COUNT may be at most"),
    ("FREQ=SECONDLY;COUNT=3", "SECONDLY"),
])
def test_costly_rules_are_refused(rule: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words) as refused:
        recurrence.check_rule(rule, dtstart=datetime(2027, 1, 4, 6),
                              not_before=datetime(2027, 1, 1), until=None)
    assert refused.value.field == "recurrence"
    assert " — " in str(refused.value)  # Vietnamese, then English


@pytest.mark.parametrize("rule", [
    "FREQ=MINUTELY;INTERVAL=15",
    "FREQ=MINUTELY;COUNT=55",  # a burst that ends
    "FREQ=MINUTELY;BYSECOND=0,10,20,30,40,50;COUNT=6",
    "FREQ=MINUTELY;UNTIL=20270104T070000",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",  # every leap year
    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6,17;BYMINUTE=0",
    "FREQ=MONTHLY;BYDAY=-1FR",
])
def test_sensible_rules_are_accepted(rule: str) -> None:
    recurrence.check_rule(rule, dtstart=datetime(2027, 1, 4, 6),
                          not_before=datetime(2027, 1, 1), until=None)


def test_a_dense_rule_is_accepted_when_its_timetable_ends_soon() -> None:
    start = datetime(2027, 1, 4, 6)
    recurrence.check_rule("FREQ=MINUTELY;INTERVAL=5", dtstart=start, not_before=start,
                          until=start + timedelta(hours=2))
    with pytest.raises(InvalidInput):
        recurrence.check_rule("FREQ=MINUTELY;INTERVAL=5", dtstart=start, not_before=start,
                              until=start + timedelta(days=2))


def test_the_api_refuses_the_never_matching_rule(client: TestClient, admin: dict[str, str],
                                                 speech_mp3: Path) -> None:
    bulletin_id = approved_bulletin(client, admin, speech_mp3)
    target = station(client, admin, "Trạm lặp")
    body = {"bulletin_id": bulletin_id, "station_ids": [target["id"]],
            "starts_at": to_wire(datetime.now(UTC) + timedelta(hours=1)), "recurrence": NEVER}
    refused = client.post("/api/v1/timetables", headers=admin, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "recurrence"
    assert refused.json()["detail"].startswith("Quy tắc lặp không phát lần nào")
    dense = client.post("/api/v1/timetables", headers=admin,
                        json={**body, "recurrence": "FREQ=MINUTELY;INTERVAL=7"})
    assert dense.status_code == 422 and dense.json()["field"] == "recurrence"
    assert client.get("/api/v1/timetables", headers=admin).json()["total"] == 0
    made = client.post("/api/v1/timetables", headers=admin,
                       json={**body, "starts_at": "2016-03-01T06:03:00",
                             "recurrence": "FREQ=MINUTELY;INTERVAL=15"})
    assert made.status_code == 201, made.text
    assert 190 <= made.json()["planned"] <= 193  # 48 hours, every 15 minutes
