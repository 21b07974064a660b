"""The media cache: resumable, verified downloads into ``<sha256>.opus`` files.

A download goes to ``<sha256>.opus.part`` and resumes from its size with an HTTP Range
request; only a file whose sha256 matches is renamed (atomically) to its final name, so a
partial or corrupt file is never taken for cached media.

The cache is capped: ``evict`` removes the least recently used files that the plan does not
need until the cached files fit, and removes partial files nobody needs any more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import httpx

from agents.config import tls_verify_failure
from agents.decode import sha256_file
from agents.store import Store

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_CAP_S = 60.0
DEFAULT_MAX_BYTES = 2048 * 1024 * 1024
MB = 1024 * 1024
FINAL_SUFFIX = ".opus"
PART_SUFFIX = ".opus.part"


class MediaCorrupt(ValueError):
    """A downloaded file whose sha256 is not the one expected."""


class MediaRefused(PermissionError):
    """The scheduler refused our token (401/403)."""


class MediaCache:
    """Files named by their sha256 in one directory, indexed in the store."""

    def __init__(self, directory: Path, *, store: Store, http: httpx.AsyncClient,
                 backoff_first_s: float = BACKOFF_FIRST_S,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._store = store
        self._http = http
        self._backoff_first_s = backoff_first_s
        self._max_bytes = max_bytes

    def path(self, sha256: str) -> Path | None:
        """Return the cached file for a sha256, or None when it is not (fully) here."""
        final = self.directory / f"{sha256}{FINAL_SUFFIX}"
        if self._store.has_media(sha256) and final.is_file():
            return final
        return None

    def use(self, sha256: str) -> Path | None:
        """Return the cached file to play it, marking it as recently used."""
        path = self.path(sha256)
        if path is not None:
            self._store.touch_media(sha256)
        return path

    def evict(self, needed: set[str]) -> None:
        """Trim the cache to its cap, least recently used first, never evicting needed media."""
        self._remove_strays(needed)
        entries = self._store.media_by_use()
        total = sum(size for _, size in entries)
        for sha256, size in entries:
            if total <= self._max_bytes:
                break
            if sha256 in needed:
                continue
            self._store.forget_media(sha256)  # first: a crash now leaves a stray, not a lie
            (self.directory / f"{sha256}{FINAL_SUFFIX}").unlink(missing_ok=True)
            total -= size
            log.info("media %s evicted from the cache (%d bytes)", sha256[:12], size)
        if total > self._max_bytes:
            log.warning("the plan needs %.1f MB of media, over the %.1f MB cache cap "
                        "(--cache-max-mb); keeping it all", total / MB, self._max_bytes / MB)

    def _remove_strays(self, needed: set[str]) -> None:
        """Delete unneeded partial and unindexed files; forget indexed files that are gone."""
        for entry in self.directory.iterdir():
            name = entry.name
            if name.endswith(PART_SUFFIX):
                stray = name[: -len(PART_SUFFIX)] not in needed
            elif name.endswith(FINAL_SUFFIX):
                sha256 = name[: -len(FINAL_SUFFIX)]
                stray = sha256 not in needed and not self._store.has_media(sha256)
            else:
                continue
            if stray:
                entry.unlink(missing_ok=True)
                log.info("removed %s from the media cache: no plan item needs it", name)
        for sha256, _ in self._store.media_by_use():
            if not (self.directory / f"{sha256}{FINAL_SUFFIX}").is_file():
                self._store.forget_media(sha256)

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
        headers = {"Range": f"bytes={offset}-"} if offset else {}
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
        self._store.add_media(sha256, size)
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
