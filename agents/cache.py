"""The media cache: resumable, verified downloads into ``<sha256>.opus`` files.

A download goes to ``<sha256>.opus.part`` and resumes from its size with an HTTP Range
request; only a file whose sha256 matches is renamed (atomically) to its final name, so a
partial or corrupt file is never taken for cached media.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import httpx

from agents.decode import sha256_file
from agents.store import Store

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_CAP_S = 60.0


class MediaCorrupt(ValueError):
    """A downloaded file whose sha256 is not the one expected."""


class MediaRefused(PermissionError):
    """The scheduler refused our token (401/403)."""


class MediaCache:
    """Files named by their sha256 in one directory, indexed in the store."""

    def __init__(self, directory: Path, *, store: Store, http: httpx.AsyncClient,
                 backoff_first_s: float = BACKOFF_FIRST_S) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._store = store
        self._http = http
        self._backoff_first_s = backoff_first_s

    def path(self, sha256: str) -> Path | None:
        """Return the cached file for a sha256, or None when it is not (fully) here."""
        final = self.directory / f"{sha256}.opus"
        if self._store.has_media(sha256) and final.is_file():
            return final
        return None

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
                log.warning("media download of %s failed (%s); retry in %.0fs",
                            sha256[:12], exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_CAP_S)
        return cached

    async def download_once(self, sha256: str, url: str) -> Path:
        """Make one attempt to complete the download, resuming a partial file."""
        part = self.directory / f"{sha256}.opus.part"
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
        final = self.directory / f"{sha256}.opus"
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
