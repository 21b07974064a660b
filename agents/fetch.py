"""What the agent fetches from the scheduler over HTTP: its clock's offset, and media.

The agent plays by its own clock; the offset from the scheduler's (NTP-style) is measured
only to be reported (and warned about when it is surely over a second), because the station
PC's clock is what chrony disciplines. One HTTP round trip is no measurement on a busy link
or a loaded scheduler: a burst of them is timed and the quickest kept, as NTP's clock filter
does, since the quickest had the least room to be lopsided; half its round trip bounds the
error.

Media downloads resume: a download goes to ``<sha256>.opus.part`` and resumes from its size
with an HTTP Range request; only a file whose sha256 matches is renamed (atomically) to
``<sha256>.opus``, so a partial or corrupt file is never taken for cached media. The cache is
capped: ``evict`` removes the least recently used files that the plan does not need until the
cached files fit, and removes partial files nobody needs any more. ``Media`` is what the
station needs of the cache; the simulator shares one between all its stations
(simulate/media.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import httpx

from media.checksum import sha256_file
from wardcast.protocol import TIME_PATH, ServerTime, clock_off, decode, utcnow

log = logging.getLogger(__name__)

FINE_WAIT_S = 0.030  # the last stretch of a wait for an instant: short blocking sleeps
RETRY_S = 15.0
BURST = 8  # samples per measurement
SPACING_S = 0.1  # between them: a stall of the scheduler or the link spoils few of them
# an older scheduler sends whole milliseconds, truncated: its stamp is somewhere in the next
MS_STEP_S = 0.001
BACKOFF_FIRST_S = 1.0
BACKOFF_CAP_S = 60.0
DEFAULT_MAX_BYTES = 2048 * 1024 * 1024
MB = 1024 * 1024
FINAL_SUFFIX = ".opus"
PART_SUFFIX = ".opus.part"


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


def tls_verify_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """Return the certificate verification error behind an exception (httpx wraps it)."""
    seen: BaseException | None = exc
    for _ in range(10):  # the chain is short; a bound guards against cycles
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


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


class Media(Protocol):
    """Media files by sha256: the cached ones, and downloads of those missing."""

    def path(self, sha256: str) -> Path | None: ...
    def use(self, sha256: str) -> Path | None: ...
    def want(self, sha256: str, url: str, *, ready: Callable[[str], None],
             needed: Callable[[], bool], after_s: float = 0.0) -> None: ...
    def evict(self, needed: set[str]) -> None: ...
    async def close(self) -> None: ...


class MediaCorrupt(ValueError):
    """A downloaded file whose sha256 is not the one expected."""


class MediaRefused(PermissionError):
    """The scheduler refused our token (401/403)."""


class MediaCache:
    """Files named by their sha256 in one directory; a file's mtime is when it was last used.

    The directory is its own index: the final name only ever holds a whole, verified file.
    """

    def __init__(self, directory: Path, *, http: httpx.AsyncClient,
                 backoff_first_s: float = BACKOFF_FIRST_S,
                 max_bytes: int = DEFAULT_MAX_BYTES,
                 headers: Mapping[str, str] | None = None) -> None:
        """headers go with each download besides the client's own (another token)."""
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._http = http
        self._headers = dict(headers or {})
        self._backoff_first_s = backoff_first_s
        self._max_bytes = max_bytes
        self._downloads: dict[str, asyncio.Task[None]] = {}

    def path(self, sha256: str) -> Path | None:
        """Return the cached file for a sha256, or None when it is not (fully) here."""
        final = self.directory / f"{sha256}{FINAL_SUFFIX}"
        return final if final.is_file() else None

    def use(self, sha256: str) -> Path | None:
        """Return the cached file to play it, marking it as recently used."""
        path = self.path(sha256)
        if path is not None:
            os.utime(path)
        return path

    def want(self, sha256: str, url: str, *, ready: Callable[[str], None],
             needed: Callable[[], bool], after_s: float = 0.0) -> None:
        """Download a file unless it is under way; call ready(sha256) once it is cached.

        The first request waits after_s. The download retries for as long as needed() says
        so, or until evict cancels it.
        """
        if sha256 not in self._downloads:
            self._downloads[sha256] = asyncio.create_task(
                self._download(sha256, url, ready, needed, after_s))

    async def _download(self, sha256: str, url: str, ready: Callable[[str], None],
                        needed: Callable[[], bool], after_s: float) -> None:
        path = None
        try:
            if after_s > 0:
                log.info("media %s asked for in %.1fs (spread over the group)", sha256[:12],
                         after_s)
                await asyncio.sleep(after_s)
            path = await self.fetch(sha256, url, still_needed=needed)
        except Exception:  # never let one download take the agent down
            log.exception("download of %s gave up", sha256[:12])
        finally:
            if self._downloads.get(sha256) is asyncio.current_task():
                del self._downloads[sha256]
        if path is not None:
            ready(sha256)

    async def close(self) -> None:
        """Cancel the downloads under way."""
        for task in self._downloads.values():
            task.cancel()
        await asyncio.gather(*self._downloads.values(), return_exceptions=True)

    def evict(self, needed: set[str]) -> None:
        """Cancel unneeded downloads; trim the cache to its cap, least recently used first.

        Needed media is never evicted.
        """
        for sha256 in [sha256 for sha256 in self._downloads if sha256 not in needed]:
            self._downloads.pop(sha256).cancel()
        self._remove_parts(needed)
        files = sorted((path.stat().st_mtime_ns, path.stat().st_size, path)
                       for path in self.directory.glob(f"*{FINAL_SUFFIX}"))
        total = sum(size for _, size, _ in files)
        for _, size, path in files:
            sha256 = path.name[: -len(FINAL_SUFFIX)]
            if total <= self._max_bytes:
                break
            if sha256 in needed:
                continue
            path.unlink(missing_ok=True)
            total -= size
            log.info("media %s evicted from the cache (%d bytes)", sha256[:12], size)
        if total > self._max_bytes:
            log.warning("the plan needs %.1f MB of media, over the %.1f MB cache cap "
                        "(--cache-max-mb); keeping it all", total / MB, self._max_bytes / MB)

    def _remove_parts(self, needed: set[str]) -> None:
        """Delete partial files that no pending item needs any more."""
        for part in self.directory.glob(f"*{PART_SUFFIX}"):
            if part.name[: -len(PART_SUFFIX)] not in needed:
                part.unlink(missing_ok=True)
                log.info("removed %s from the media cache: no plan item needs it", part.name)

    async def fetch(self, sha256: str, url: str, *,
                    still_needed: Callable[[], bool] = lambda: True) -> Path | None:
        """Download until the file is cached, backing off on errors; None if no longer needed."""
        delay = self._backoff_first_s
        while (cached := self.path(sha256)) is None:
            if not still_needed():
                return None
            try:
                return await self.download_once(sha256, url)
            except MediaRefused as exc:
                log.error("media download refused, check the station token: %s", exc)
            except httpx.HTTPStatusError as exc:
                log.warning("media download of %s: HTTP %d; retry in %.0fs", sha256[:12],
                            exc.response.status_code, delay)
            except (httpx.HTTPError, MediaCorrupt, OSError) as exc:
                if (tls := tls_verify_failure(exc)) is not None:
                    log.error("media download: the scheduler's TLS certificate failed "
                              "verification (%s); check --ca-file", tls)
                log.warning("media download of %s failed (%s); retry in %.0fs",
                            sha256[:12], exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_CAP_S)
        return cached

    async def download_once(self, sha256: str, url: str) -> Path:
        """Make one attempt to complete the download, resuming a partial file."""
        part = self.directory / f"{sha256}{PART_SUFFIX}"
        offset = part.stat().st_size if part.exists() else 0
        headers = {**self._headers, **({"Range": f"bytes={offset}-"} if offset else {})}
        async with self._http.stream("GET", url, headers=headers) as response:
            if response.status_code in (401, 403):
                raise MediaRefused(f"HTTP {response.status_code} for {url}")
            if response.status_code != 416:  # 416: the part is already whole
                response.raise_for_status()
                mode = "ab" if response.status_code == 206 else "wb"
                await _save(response, part, mode)
        return await self._commit(sha256, part)

    async def _commit(self, sha256: str, part: Path) -> Path:
        """Verify a finished part file and rename it to its final name."""
        final = self.directory / f"{sha256}{FINAL_SUFFIX}"
        size = await asyncio.to_thread(_verify_and_place, part, final, sha256)
        log.info("media %s cached (%d bytes)", sha256[:12], size)
        return final


def _verify_and_place(part: Path, final: Path, sha256: str) -> int:
    """Rename part to final if its sha256 matches, else delete it; return the size."""
    actual = sha256_file(part)
    if actual != sha256:
        part.unlink(missing_ok=True)
        raise MediaCorrupt(f"sha256 {actual[:12]}… is not the expected {sha256[:12]}…")
    part.replace(final)  # atomic: the final name only ever holds a whole, verified file
    return final.stat().st_size


async def _save(response: httpx.Response, part: Path, mode: str) -> None:
    """Append (or write) a response body to the part file as it arrives."""
    with part.open(mode) as handle:
        async for block in response.aiter_bytes():
            handle.write(block)
