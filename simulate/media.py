"""One media cache for every simulated station: each bulletin is downloaded once.

The shared cache is the agent's real MediaCache (resumable, sha256-verified, never a partial
file under the final name); the simulator only adds "one download per sha256 at a time", so
10,000 stations that need the same bulletin make one request, not 10,000. Nothing is evicted
while the simulator runs: one station's plan says nothing about the others'.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from agents.fetch import MediaCache

log = logging.getLogger(__name__)

MediaReady = Callable[[str], None]  # called with the sha256 whose download ended whole


class SharedMedia:
    """The one cache directory, the files known whole, and the downloads in flight.

    Downloads run on a thread of their own, with its own event loop, HTTP client and
    MediaCache over the same directory. The one shared download stands for each radio PC's
    own download, which nothing else on that PC slows down; on the simulator's main loop,
    while 10,000 stations read their plans, each of its HTTP steps waited for a full pass of
    that loop (2.5 s for one small file). The main loop hears of the end of a download through
    loop.call_soon_threadsafe, and calls every station waiting for that file in that one
    callback: one pass of the loop for all of them.

    Everything but the download itself runs on the main loop's thread.
    """

    _cache: MediaCache  # the download thread's, made on that thread

    def __init__(self, directory: Path, *, make_http: Callable[[], httpx.AsyncClient]) -> None:
        """make_http builds the download thread's client (called on that thread)."""
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._make_http = make_http
        self._whole: dict[str, Path] = {}  # nothing is evicted: once whole, always whole
        # sha256 -> the callbacks waiting for it (a dict: each one once, in order)
        self._waiting: dict[str, dict[MediaReady, None]] = {}
        self._loop = asyncio.new_event_loop()  # the download thread's, run by that thread
        self._thread: threading.Thread | None = None
        self._closed = False
        self.downloads = 0  # completed downloads, for the summary

    def path(self, sha256: str) -> Path | None:
        """Return the file of a sha256 once it is whole."""
        return self._whole.get(sha256)  # 10,000 stations asking at once: no disk

    def want(self, sha256: str, url: str, ready: MediaReady) -> None:
        """Call ready(sha256) when the file is whole, starting its one download if need be.

        A callback already waiting for this sha256 is not added twice. If the download
        fails, its callbacks are forgotten without being called: ask again to retry.
        """
        if self._closed:
            return
        waiting = self._waiting.get(sha256)
        if waiting is None:
            waiting = self._waiting[sha256] = {}
            self._start(sha256, url, asyncio.get_running_loop())
        waiting[ready] = None

    def _start(self, sha256: str, url: str, main: asyncio.AbstractEventLoop) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="wardcast-sim-media",
                                            daemon=True)
            self._thread.start()
        self._loop.call_soon_threadsafe(self._begin, sha256, url, main)

    # --- on the download thread ---------------------------------------------------------

    def _serve(self) -> None:
        """Run the download loop until close(), then cancel what is left and clean up."""
        loop = self._loop
        asyncio.set_event_loop(loop)
        http = self._make_http()
        self._cache = MediaCache(self.directory, http=http)
        try:
            loop.run_forever()
        finally:
            try:
                tasks = asyncio.all_tasks(loop)
                for task in tasks:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                loop.run_until_complete(http.aclose())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def _begin(self, sha256: str, url: str, main: asyncio.AbstractEventLoop) -> None:
        asyncio.get_running_loop().create_task(self._download(sha256, url, main))

    async def _download(self, sha256: str, url: str, main: asyncio.AbstractEventLoop) -> None:
        path = None
        try:
            path = await self._cache.fetch(sha256, url)
        except Exception:
            log.exception("shared download of %s gave up", sha256[:12])
        finally:
            # a closed main loop (RuntimeError) has nobody waiting any more
            with contextlib.suppress(RuntimeError):
                main.call_soon_threadsafe(self._landed, sha256, path)

    # --- back on the main loop ----------------------------------------------------------

    def _landed(self, sha256: str, path: Path | None) -> None:
        """Record the end of a download and call everyone waiting for it, in this one pass."""
        waiting = self._waiting.pop(sha256, {})
        if path is None:
            return  # dropped: each station asks again with its next plan
        if sha256 not in self._whole:
            self._whole[sha256] = path
            self.downloads += 1
        for ready in waiting:
            try:
                ready(sha256)
            except Exception:  # one station's bug must not keep the file from the others
                log.exception("a station failed to take media %s", sha256[:12])

    async def close(self) -> None:
        """Cancel downloads still under way and stop the download thread."""
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is None:
            self._loop.close()
            return
        with contextlib.suppress(RuntimeError):  # the thread's loop is already closed
            self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(thread.join)


class SimCache:
    """One station's Media: its view of the shared cache (downloads go through want)."""

    def __init__(self, shared: SharedMedia) -> None:
        self._shared = shared

    def path(self, sha256: str) -> Path | None:
        """Return the shared file for a sha256, if it is whole."""
        return self._shared.path(sha256)

    def use(self, sha256: str) -> Path | None:
        """Return the shared file to play it."""
        return self._shared.path(sha256)

    def want(self, sha256: str, url: str, *, ready: MediaReady,
             needed: Callable[[], bool]) -> None:
        """Ask the shared media for a file: no download task per station.

        SharedMedia downloads each file once and calls every station waiting for it in one
        pass of the loop. A failed download calls nobody; the next plan asks again (as the
        agent retries a download on its next plan).
        """
        self._shared.want(sha256, url, ready)

    def evict(self, needed: set[str]) -> None:
        """Evict nothing: other stations may need what this one does not."""

    async def close(self) -> None:
        """Nothing of its own: the runner closes the shared media."""
