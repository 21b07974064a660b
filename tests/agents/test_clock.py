"""The agent's clock offset: a burst of timed exchanges, the quickest kept (NTP's filter).

The selection is checked here on made-up exchanges; tests/e2e/test_clock_offset.py checks the
real thing against a loaded scheduler.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import httpx
import pytest

from agents.fetch import BURST, Clock, Estimate, Sample, best, sample
from wardcast.protocol import TIME_PATH, ServerTime, decode, to_wire_us

T0 = datetime(2027, 1, 15, 8, 0, tzinfo=UTC).timestamp()
OFFSET_S = 2.0  # the scheduler's clock is this far ahead of the agent's


def _exchange(sent: float, *, up_ms: float, held_ms: float, down_ms: float) -> Sample:
    """An exchange whose request took up_ms to arrive, waited held_ms, took down_ms back."""
    arrived = sent + up_ms / 1000
    left = arrived + held_ms / 1000
    return Sample(T0 + sent, T0 + left + down_ms / 1000, T0 + arrived + OFFSET_S,
                  T0 + left + OFFSET_S)


LOPSIDED = _exchange(0.0, up_ms=60, held_ms=1, down_ms=2)  # alone it reads 29 ms too much
HELD = _exchange(1.0, up_ms=1, held_ms=200, down_ms=3)  # slow, but the scheduler's doing
QUICK_IN = _exchange(2.0, up_ms=9, held_ms=0, down_ms=1)  # the shortest round trip of all


def test_the_quickest_exchange_wins_however_long_the_scheduler_held_it() -> None:
    # HELD took 204 ms in all, but 200 of them inside the scheduler: its path took 4 ms,
    # 2 ms of possible error; QUICK_IN's 10 ms, all but one on the way in
    assert best([LOPSIDED, HELD, QUICK_IN]) == Estimate(offset_ms=1999, uncertainty_ms=2)
    assert best([LOPSIDED, QUICK_IN]) == Estimate(offset_ms=2004, uncertainty_ms=5)
    assert best([QUICK_IN, LOPSIDED]) == best([LOPSIDED, QUICK_IN])  # order does not matter


@pytest.mark.parametrize("exchange", [LOPSIDED, HELD, QUICK_IN])
def test_the_uncertainty_covers_the_error_however_lopsided_the_trip(exchange: Sample) -> None:
    assert abs(exchange.offset - OFFSET_S) <= exchange.uncertainty
    assert abs(best([exchange]).offset_ms - OFFSET_S * 1000) <= best([exchange]).uncertainty_ms


def test_an_older_schedulers_millisecond_stamp_counts_as_the_middle_of_its_millisecond() -> None:
    # it truncated an instant in [T0 + 2.001, T0 + 2.002) and stamped it anywhere in the stay
    answer = decode(ServerTime, b'{"server_time": "2027-01-15T08:00:02.001Z"}')
    measured = sample(answer, sent=T0, received=T0 + 0.005)
    assert measured.granularity == pytest.approx(0.0005)
    assert best([measured]) == Estimate(offset_ms=1999, uncertainty_ms=3)  # 2.5 + 0.5 ms


def test_receive_and_transmit_times_are_read_to_the_microsecond() -> None:
    def at(stamp: float) -> str:
        return to_wire_us(datetime.fromtimestamp(stamp, UTC))

    body = json.dumps({"server_time": at(T0 + 2.1), "receive_time": at(T0 + 2.000250),
                       "transmit_time": at(T0 + 2.200250)}).encode()
    measured = sample(decode(ServerTime, body), sent=T0, received=T0 + 0.2005)
    assert measured.delay == pytest.approx(0.0005, abs=1e-6)
    assert measured.offset == pytest.approx(2.0, abs=1e-6)


def test_a_measurement_is_a_burst_and_keeps_the_quickest() -> None:
    """Every answer but one is lopsided (stamped 30 ms after the request came in, answered
    at once): alone, each reads 15 ms too much; the burst finds the one that is not."""
    asked: list[float] = []

    def scheduler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == TIME_PATH
        asked.append(time.time())
        if len(asked) != 5:
            time.sleep(0.030)
        stamp = datetime.fromtimestamp(time.time() + OFFSET_S, UTC)
        return httpx.Response(200, content=ServerTime(server_time=stamp, receive_time=stamp,
                                                      transmit_time=stamp).model_dump_json())

    async def measure() -> tuple[Clock, Estimate]:
        transport = httpx.MockTransport(scheduler)
        async with httpx.AsyncClient(transport=transport, base_url="http://scheduler") as http:
            clock = Clock(http, interval_s=300, spacing_s=0.01)
            return clock, await clock.measure()

    clock, estimate = asyncio.run(measure())
    assert len(asked) == BURST
    assert asked[-1] - asked[0] >= (BURST - 1) * 0.01  # spaced, not all at once
    assert estimate.uncertainty_ms < 10, estimate  # not one of the 30 ms answers
    assert abs(estimate.offset_ms - OFFSET_S * 1000) <= estimate.uncertainty_ms
    assert (clock.offset_ms, clock.uncertainty_ms) == (estimate.offset_ms,
                                                       estimate.uncertainty_ms)


@pytest.mark.parametrize(("estimate", "off"), [
    (None, False),
    (Estimate(offset_ms=1500, uncertainty_ms=600), False),  # might be 900 ms: not surely off
    (Estimate(offset_ms=-1500, uncertainty_ms=400), True),  # at least 1100 ms either way
    (Estimate(offset_ms=1001, uncertainty_ms=0), True),
    (Estimate(offset_ms=1000, uncertainty_ms=0), False),  # the limit itself is allowed
])
def test_the_clock_is_off_only_when_surely_over_a_second(estimate: Estimate | None,
                                                         off: bool) -> None:
    async def flag() -> bool:
        async with httpx.AsyncClient() as http:
            clock = Clock(http, interval_s=300)
            clock.estimate = estimate
            return clock.off

    assert asyncio.run(flag()) is off
