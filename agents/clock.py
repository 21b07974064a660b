"""The agent's clock: its offset from the scheduler's (NTP-style) and precise waits.

The agent plays by its own clock; the offset is measured only to be reported (and warned
about when it is surely over a second), because the station PC's clock is what chrony
disciplines. One HTTP round trip is no measurement on a busy link or a loaded scheduler: a
burst of them is timed and the quickest kept, as NTP's clock filter does, since the quickest
had the least room to be lopsided; half its round trip bounds the error.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx

from agents.config import tls_verify_failure
from wardcast.protocol import TIME_PATH, ServerTime, clock_off, decode, utcnow

log = logging.getLogger(__name__)

FINE_WAIT_S = 0.030
RETRY_S = 15.0
BURST = 8  # samples per measurement
SPACING_S = 0.1  # between them: a stall of the scheduler or the link spoils few of them
# an older scheduler sends whole milliseconds, truncated: its stamp is somewhere in the next
MS_STEP_S = 0.001


@dataclass(frozen=True)
class Sample:
    """One timed exchange with the scheduler, in seconds since the epoch."""

    sent: float  # the agent's clock, before the request
    received: float  # the agent's clock, after the answer
    server_in: float  # the scheduler's clock, as the request reached it
    server_out: float  # the scheduler's clock, as the answer left it
    granularity: float = 0.0  # how far the scheduler's stamps may be from the true instant

    @property
    def delay(self) -> float:
        """Return the round trip less the time the scheduler held the request."""
        return max(0.0, (self.received - self.sent) - (self.server_out - self.server_in))

    @property
    def offset(self) -> float:
        """Return the scheduler's clock minus the agent's, if both ways took as long."""
        return (self.server_in + self.server_out - self.sent - self.received) / 2

    @property
    def uncertainty(self) -> float:
        """Return how far the offset can be from the truth, however lopsided the trip."""
        return self.delay / 2 + self.granularity


def sample(answer: ServerTime, *, sent: float, received: float) -> Sample:
    """Turn the scheduler's answer and the agent's own two stamps into a sample."""
    if answer.receive_time is not None and answer.transmit_time is not None:
        return Sample(sent, received, answer.receive_time.timestamp(),
                      answer.transmit_time.timestamp())
    # an older scheduler: one stamp in milliseconds, taken anywhere between in and out
    stamp = answer.server_time.timestamp() + MS_STEP_S / 2
    return Sample(sent, received, stamp, stamp, granularity=MS_STEP_S / 2)


@dataclass(frozen=True)
class Estimate:
    """An offset (scheduler minus agent) and how far from the truth it may be."""

    offset_ms: int
    uncertainty_ms: int


def best(samples: Sequence[Sample]) -> Estimate:
    """Keep the sample with the least uncertainty, that is, the quickest round trip."""
    chosen = min(samples, key=lambda s: s.uncertainty)
    offset_ms = round(chosen.offset * 1000)
    # a bound on the true offset from the rounded one: it takes in the rounding, is rounded
    # up, and is counted in whole microseconds, the stamps' resolution (float seconds since
    # 1970 carry a quarter of a microsecond of noise)
    bound_ms = chosen.uncertainty * 1000 + abs(offset_ms - chosen.offset * 1000)
    return Estimate(offset_ms=offset_ms, uncertainty_ms=math.ceil(round(bound_ms, 3)))


class Clock:
    """Measures and remembers how far the agent's clock is from the scheduler's."""

    def __init__(self, http: httpx.AsyncClient, *, interval_s: float, burst: int = BURST,
                 spacing_s: float = SPACING_S) -> None:
        self._http = http
        self._interval_s = interval_s
        self._burst = burst
        self._spacing_s = spacing_s
        self.estimate: Estimate | None = None

    @property
    def offset_ms(self) -> int | None:
        """Return the offset: server_time ≈ agent_time + offset_ms."""
        return self.estimate.offset_ms if self.estimate else None

    @property
    def uncertainty_ms(self) -> int | None:
        """Return how far the true offset may be from offset_ms."""
        return self.estimate.uncertainty_ms if self.estimate else None

    @property
    def off(self) -> bool:
        """Tell whether the offset is surely over the one-second limit."""
        return clock_off(self.offset_ms, self.uncertainty_ms)

    async def measure(self) -> Estimate:
        """Time a burst of exchanges with the scheduler and keep the quickest."""
        samples = []
        for n in range(self._burst):
            if n:
                await asyncio.sleep(self._spacing_s)
            samples.append(await self._exchange())
        self.estimate = estimate = best(samples)
        log.debug("clock offset %+d ms ± %d ms (best of %d)", estimate.offset_ms,
                  estimate.uncertainty_ms, len(samples))
        if self.off:
            ms = (estimate.offset_ms, estimate.uncertainty_ms)
            log.warning("Đồng hồ lệch %+d ms (± %d ms) so với máy chủ, vẫn phát theo đồng hồ "
                        "máy trạm — clock is %+d ms (± %d ms) off the scheduler's; playing by "
                        "the local clock", *ms, *ms)
        return estimate

    async def _exchange(self) -> Sample:
        """Ask the scheduler for its time once, between two readings of ours."""
        sent = time.time()
        response = await self._http.get(TIME_PATH)
        received = time.time()
        response.raise_for_status()
        return sample(decode(ServerTime, response.content), sent=sent, received=received)

    async def run(self) -> None:
        """Measure now and then every interval, sooner after a failure."""
        while True:
            try:
                await self.measure()
                delay = self._interval_s
            except httpx.HTTPStatusError as exc:
                _log_refusal(exc)
                delay = min(RETRY_S, self._interval_s)
            except (httpx.HTTPError, ValueError) as exc:
                if (tls := tls_verify_failure(exc)) is not None:
                    log.error("the scheduler's TLS certificate failed verification (%s); "
                              "check --ca-file and that it names the --server host", tls)
                else:
                    log.warning("cannot read the scheduler's time: %s", exc)
                delay = min(RETRY_S, self._interval_s)
            await asyncio.sleep(delay)


def _log_refusal(exc: httpx.HTTPStatusError) -> None:
    """Say clearly when the scheduler refuses the station's token."""
    if exc.response.status_code in (401, 403):
        log.error("scheduler refused the station token (HTTP %d); check --token-file, "
                  "$WARDCAST_AGENT_TOKEN or --token",
                  exc.response.status_code)
    else:
        log.warning("cannot read the scheduler's time: %s", exc)


def seconds_until(instant: datetime) -> float:
    """Return how long until an instant by the agent's clock (negative when past)."""
    return (instant - utcnow()).total_seconds()


async def sleep_until(instant: datetime) -> None:
    """Sleep until the agent's clock reads instant, to within about a millisecond."""
    # Look at the clock again after each sleep: it may have been stepped meanwhile.
    while (remaining := seconds_until(instant)) > FINE_WAIT_S:  # noqa: ASYNC110
        await asyncio.sleep(remaining - FINE_WAIT_S)
    _fine_wait(instant.timestamp())


def _fine_wait(deadline: float) -> None:
    """Wait the last few milliseconds in short blocking sleeps (asyncio's timer is coarser)."""
    while (left := deadline - time.time()) > 0:
        time.sleep(min(left, 0.001))
