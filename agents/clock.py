"""The agent's clock: its offset from the scheduler's (NTP-style) and precise waits.

The agent plays by its own clock; the offset is measured only to be reported (and warned
about when it exceeds a second), because the station PC's clock is what chrony disciplines.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

import httpx
from pydantic import AwareDatetime, BaseModel

from agents.config import tls_verify_failure
from wardcast.protocol import utcnow

log = logging.getLogger(__name__)

TIME_PATH = "/api/v1/agent/time"
WARN_OFFSET_MS = 1000
FINE_WAIT_S = 0.030
RETRY_S = 15.0


class _ServerTime(BaseModel):
    server_time: AwareDatetime


class Clock:
    """Measures and remembers how far the agent's clock is from the scheduler's."""

    def __init__(self, http: httpx.AsyncClient, *, interval_s: float) -> None:
        self._http = http
        self._interval_s = interval_s
        self.offset_ms: int | None = None  # server_time ≈ agent_time + offset_ms

    @property
    def off(self) -> bool:
        """Tell whether the offset is over the one-second limit."""
        return self.offset_ms is not None and abs(self.offset_ms) > WARN_OFFSET_MS

    async def measure(self) -> int:
        """Ask the scheduler for its time once and update the offset."""
        sent = time.time()
        response = await self._http.get(TIME_PATH)
        received = time.time()
        response.raise_for_status()
        server = _ServerTime.model_validate_json(response.content).server_time.timestamp()
        self.offset_ms = round((server - (sent + received) / 2) * 1000)
        if self.off:
            log.warning("clock is %d ms off the scheduler's; playing by the local clock",
                        self.offset_ms)
        return self.offset_ms

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
        log.error("scheduler refused the station token (HTTP %d); check --token",
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
