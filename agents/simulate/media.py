"""One media cache for every simulated station: each bulletin is downloaded once.

The shared cache is the agent's real MediaCache (resumable, sha256-verified, never a partial
file under the final name); a station's view of it only adds "one download per sha256 at a
time", so 10,000 stations that need the same bulletin make one request, not 10,000. Nothing
is evicted while the simulator runs: one station's plan says nothing about the others'.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx

from agents.cache import MediaCache
from agents.simulate.store import MemoryStore


class SharedMedia:
    """The one cache directory, its index and the downloads in flight."""

    def __init__(self, directory: Path, *, http: httpx.AsyncClient) -> None:
        self.http = http
        self.cache = MediaCache(directory, store=MemoryStore(), http=http)
        self._flights: dict[str, asyncio.Task[Path | None]] = {}
        self.downloads = 0  # completed downloads, for the summary

    def path(self, sha256: str) -> Path | None:
        return self.cache.path(sha256)

    async def fetch(self, sha256: str, url: str) -> Path | None:
        """Wait for the file, starting its one download if none is under way."""
        flight = self._flights.get(sha256)
        if flight is None:
            flight = asyncio.create_task(self._download(sha256, url))
            self._flights[sha256] = flight
        # shield: one station giving up (its plan changed) must not cancel the others' wait
        return await asyncio.shield(flight)

    async def _download(self, sha256: str, url: str) -> Path | None:
        try:
            already = self.cache.path(sha256) is not None
            path = await self.cache.fetch(sha256, url)
            self.downloads += not already and path is not None
            return path
        finally:
            del self._flights[sha256]

    async def close(self) -> None:
        """Cancel downloads still under way."""
        for flight in self._flights.values():
            flight.cancel()
        await asyncio.gather(*self._flights.values(), return_exceptions=True)


class SimCache(MediaCache):
    """One station's view of the shared cache."""

    def __init__(self, shared: SharedMedia) -> None:  # no super().__init__(): nothing to own
        self._shared = shared
        self.directory = shared.cache.directory

    def path(self, sha256: str) -> Path | None:
        """Return the shared file for a sha256, if it is whole."""
        return self._shared.path(sha256)

    def use(self, sha256: str) -> Path | None:
        """Return the shared file to play it."""
        return self._shared.path(sha256)

    def evict(self, needed: set[str]) -> None:
        """Evict nothing: other stations may need what this one does not."""

    async def fetch(self, sha256: str, url: str, *,
                    still_needed: Callable[[], bool] = lambda: True) -> Path | None:
        """Wait for the shared download, unless this station no longer needs the file."""
        if not still_needed():
            return None
        return await self._shared.fetch(sha256, url)
