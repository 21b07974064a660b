"""One media cache for every simulated station: each bulletin is downloaded once.

The shared cache is the agent's real MediaCache (resumable, sha256-verified, never a partial
file under the final name); the simulator only adds "one download per sha256 at a time", so
10,000 stations that need the same bulletin make one request, not 10,000. Nothing is evicted
while the simulator runs: one station's plan says nothing about the others'.

With ``own`` (``wardcast simulate --own-media``) each station downloads its own copy into a
directory of its own, as each radio PC does, after the wait its urgent message asks for
(``after_s``): the path a real fleet takes to the scheduler's media, measured by
``bench.fanout --media own``. The shared download ignores that wait: it stands for media that
is already on every PC.
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
Key = tuple[str, str]  # (the station whose copy it is, "" for the shared one; sha256)
Owner = tuple[str, str]  # a station whose copy it is, and its token ("", "" for the shared)


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

    _http: httpx.AsyncClient  # the download thread's, made on that thread

    def __init__(self, directory: Path, *, make_http: Callable[[], httpx.AsyncClient],
                 own: bool = False) -> None:
        """make_http builds the download thread's client (called on that thread); own: each
        station downloads its own copy."""
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.own = own
        self._make_http = make_http
        self._whole: dict[Key, Path] = {}  # nothing is evicted: once whole, always whole
        # a file -> the callbacks waiting for it (a dict: each one once, in order)
        self._waiting: dict[Key, dict[MediaReady, None]] = {}
        self._caches: dict[str, MediaCache] = {}  # the download thread's, by owner
        self._loop = asyncio.new_event_loop()  # the download thread's, run by that thread
        self._thread: threading.Thread | None = None
        self._closed = False
        self.downloads = 0  # completed downloads, for the summary

    def path(self, sha256: str, owner: str = "") -> Path | None:
        """Return the file of a sha256 (the owner's copy, with own) once it is whole."""
        # 10,000 stations asking at once: no disk
        return self._whole.get((owner if self.own else "", sha256))

    def want(self, sha256: str, url: str, ready: MediaReady, *, owner: Owner = ("", ""),
             after_s: float = 0.0) -> None:
        """Call ready(sha256) when the file is whole, starting its download if need be (the
        one shared download, or with own the owner's, after after_s).

        A callback already waiting for this file is not added twice. If the download fails,
        its callbacks are forgotten without being called: ask again to retry.
        """
        if self._closed:
            return
        if not self.own:  # one shared copy, fetched at once (see above)
            owner, after_s = ("", ""), 0.0
        key = (owner[0], sha256)
        waiting = self._waiting.get(key)
        if waiting is None:
            waiting = self._waiting[key] = {}
            self._start(owner, sha256, url, asyncio.get_running_loop(), after_s)
        waiting[ready] = None

    def _start(self, owner: Owner, sha256: str, url: str, main: asyncio.AbstractEventLoop,
               after_s: float) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="wardcast-sim-media",
                                            daemon=True)
            self._thread.start()
        self._loop.call_soon_threadsafe(self._begin, owner, sha256, url, main, after_s)

    # --- on the download thread ---------------------------------------------------------

    def _serve(self) -> None:
        """Run the download loop until close(), then cancel what is left and clean up."""
        loop = self._loop
        asyncio.set_event_loop(loop)
        http = self._http = self._make_http()
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

    def _begin(self, owner: Owner, sha256: str, url: str, main: asyncio.AbstractEventLoop,
               after_s: float) -> None:
        asyncio.get_running_loop().create_task(self._download(owner, sha256, url, main,
                                                              after_s))

    def _cache_of(self, owner: Owner) -> MediaCache:
        """The owner's cache (its directory, and its token on each request)."""
        name, token = owner
        cache = self._caches.get(name)
        if cache is None:
            cache = self._caches[name] = MediaCache(
                self.directory / name if name else self.directory, http=self._http,
                headers={"Authorization": f"Bearer {token}"} if token else None)
        return cache

    async def _download(self, owner: Owner, sha256: str, url: str,
                        main: asyncio.AbstractEventLoop, after_s: float) -> None:
        key = (owner[0], sha256)
        path = None
        try:
            await asyncio.sleep(after_s)
            path = await self._cache_of(owner).fetch(sha256, url)
        except Exception:
            log.exception("download of %s gave up", sha256[:12])
        finally:
            # a closed main loop (RuntimeError) has nobody waiting any more
            with contextlib.suppress(RuntimeError):
                main.call_soon_threadsafe(self._landed, key, path)

    # --- back on the main loop ----------------------------------------------------------

    def _landed(self, key: Key, path: Path | None) -> None:
        """Record the end of a download and call everyone waiting for it, in this one pass."""
        sha256 = key[1]
        waiting = self._waiting.pop(key, {})
        if path is None:
            return  # dropped: each station asks again with its next plan
        if key not in self._whole:
            self._whole[key] = path
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

    def __init__(self, shared: SharedMedia, *, owner: Owner = ("", "")) -> None:
        """owner: the station and its token, for its own copies when the shared media keeps
        one each."""
        self._shared = shared
        self._owner = owner

    def path(self, sha256: str) -> Path | None:
        """Return the shared file for a sha256, if it is whole."""
        return self._shared.path(sha256, self._owner[0])

    def use(self, sha256: str) -> Path | None:
        """Return the shared file to play it."""
        return self._shared.path(sha256, self._owner[0])

    def want(self, sha256: str, url: str, *, ready: MediaReady,
             needed: Callable[[], bool], after_s: float = 0.0) -> None:
        """Ask the shared media for a file: no download task per station.

        SharedMedia downloads each file once (or each station's copy, with own) and calls
        every station waiting for it in one pass of the loop. A failed download calls
        nobody; the next plan asks again (as the agent retries a download on its next plan).
        """
        self._shared.want(sha256, url, ready, owner=self._owner, after_s=after_s)

    def evict(self, needed: set[str]) -> None:
        """Evict nothing: other stations may need what this one does not."""

    async def close(self) -> None:
        """Nothing of its own: the runner closes the shared media."""
