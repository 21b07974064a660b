"""The station: what the agent does with its link — plans and commands in, media fetched,
status out.

It is the link's handler, so everything here runs on the asyncio loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from functools import partial
from importlib.metadata import PackageNotFoundError, version

import httpx

from agents.cache import MediaCache
from agents.clock import Clock
from agents.commands import Commands, load_gain
from agents.config import Settings
from agents.link import Link
from agents.outputs import GainBackend, make_backend
from agents.player import Player
from agents.reporter import Reporter
from agents.store import Store
from wardcast.protocol import (
    Ack,
    Channel,
    EventType,
    Plan,
    PlanItem,
    ProtocolError,
    Status,
    SyncRequest,
    decode,
    encode,
    utcnow,
)

log = logging.getLogger(__name__)

EVENT_LOG_KEEP = timedelta(days=30)  # confirmed events older than this leave the local log


def _agent_version() -> str:
    try:
        return version("wardcast")
    except PackageNotFoundError:
        return ""


class Station:
    """One station's agent: owns the link, the reporter, the player and the downloads."""

    _latest_plan: tuple[int, datetime] | None = None  # (revision, generated_at) applied last

    def __init__(self, *, settings: Settings, store: Store, http: httpx.AsyncClient,
                 boot_id: str) -> None:
        self._settings = settings
        self._store = store
        self._boot_id = boot_id
        self.clock = Clock(http, interval_s=settings.clock_interval_s)
        self._cache = MediaCache(settings.cache_dir, store=store, http=http,
                                 max_bytes=settings.cache_max_bytes)
        self._link = Link(settings, boot_id=boot_id, handlers=self)
        self.reporter = Reporter(store=store, link=self._link, clock=self.clock,
                                 boot_id=boot_id, resend_after_s=settings.resend_after_s)
        self.gain = load_gain(store)
        self.player = Player(settings=settings, store=store, cache=self._cache,
                             backend=GainBackend(make_backend(settings.output), self.gain),
                             reporter=self.reporter, clock=self.clock,
                             on_change=self.publish_status)
        self._commands = Commands(store=store, link=self._link, player=self.player,
                                  gain=self.gain, resync=self._request_sync)
        self._downloads: dict[str, asyncio.Task[None]] = {}

    def begin(self) -> None:
        """Settle what a previous run left, start connecting and fetch missing media."""
        pruned = self._store.prune_events(older_than=EVENT_LOG_KEEP)
        if pruned:
            log.info("pruned %d confirmed event(s) older than %s", pruned, EVENT_LOG_KEEP)
        self.player.recover()
        self._commands.recover()
        self._link.start()
        self._cache.evict(self._needed())
        self._fetch_missing()

    async def shutdown(self) -> None:
        """Stop downloads, give the scheduler a moment to confirm, say offline, disconnect."""
        for task in self._downloads.values():
            task.cancel()
        await asyncio.gather(*self._downloads.values(), return_exceptions=True)
        await self.reporter.drain(within_s=3.0)
        await self._link.stop(self._status(online=False))

    # --- link handlers ------------------------------------------------------------------

    def connected(self) -> None:
        """Announce ourselves, subscribe, resend events and command results, ask for the plan."""
        self.publish_status()
        self._link.subscribe()
        self.reporter.resend_all()
        self._commands.flush()
        self._request_sync()

    def disconnected(self) -> None:
        """Nothing to do: paho reconnects and the player keeps to its plan."""

    def message(self, channel: Channel, payload: bytes) -> None:
        """Handle a plan, a command or an ack; drop anything malformed."""
        try:
            if channel is Channel.PLAN:
                self._apply_plan(decode(Plan, payload))
            elif channel is Channel.COMMAND:
                self._commands.handle(payload)
            elif channel is Channel.ACK:
                self.reporter.acked(decode(Ack, payload))
        except ProtocolError as exc:
            log.warning("dropped a malformed %s message: %s", channel.value, exc)

    def published(self, mid: int) -> None:
        """Pass the broker's acknowledgement to the outbox."""
        self.reporter.published(mid)

    # --- plans and commands ----------------------------------------------------------------

    def _apply_plan(self, plan: Plan) -> None:
        """Replace the pending plan; accept new items, trim the cache, fetch media."""
        if plan.station_id != self._settings.station:
            log.warning("dropped a plan for station %s", plan.station_id)
            return
        latest = self._latest_plan
        if latest is not None and plan.revision <= latest[0] and plan.generated_at < latest[1]:
            # several scheduler replicas may answer at once, and their plans can arrive out of
            # order: an older one must not undo a newer (a lower revision that is newer in
            # time is a fresh scheduler database, and is taken)
            log.info("ignored plan revision %d: older than revision %d", plan.revision,
                     latest[0])
            return
        self._latest_plan = (plan.revision, plan.generated_at)
        added = self._store.replace_plan(plan.items)
        log.info("plan revision %d: %d item(s), %d new", plan.revision, len(plan.items),
                 len(added))
        for item in added:
            self.reporter.emit(item.playback_id, EventType.ACCEPTED)
        self._drop_unneeded_downloads()
        self._cache.evict(self._needed())
        self._fetch_missing()
        self.player.wake()

    def _request_sync(self) -> None:
        request = SyncRequest(boot_id=self._boot_id, sent_at=utcnow(),
                              agent_version=_agent_version())
        self._link.publish(Channel.SYNC, encode(request))

    # --- media -------------------------------------------------------------------------

    def _fetch_missing(self) -> None:
        """Start a download for every pending item whose media is not cached."""
        for item in self._store.pending():
            if self._cache.path(item.sha256) is not None:
                self._media_ready(item.sha256)
            elif item.sha256 not in self._downloads:
                task = asyncio.create_task(self._download(item))
                self._downloads[item.sha256] = task

    async def _download(self, item: PlanItem) -> None:
        """Fetch one media file for as long as some pending item needs it."""
        path = None
        try:
            path = await self._cache.fetch(item.sha256, item.media_path,
                                           still_needed=lambda: self._needs(item.sha256))
        except Exception:  # never let one download take the agent down
            log.exception("download of %s gave up", item.sha256[:12])
        finally:
            if self._downloads.get(item.sha256) is asyncio.current_task():
                del self._downloads[item.sha256]
        if path is not None:
            self._media_ready(item.sha256)
            self._cache.evict(self._needed())
            self.player.wake()

    def _drop_unneeded_downloads(self) -> None:
        """Cancel downloads that no pending item needs any more."""
        needed = self._needed()
        for sha256 in [sha256 for sha256 in self._downloads if sha256 not in needed]:
            self._downloads.pop(sha256).cancel()

    def _needed(self) -> set[str]:
        """Return the media the plan needs, including the item playing now."""
        return {item.sha256 for item in self._store.pending()} | self.player.media_in_use()

    def _needs(self, sha256: str) -> bool:
        return sha256 in self._needed()

    def _media_ready(self, sha256: str) -> None:
        """Report ``downloaded`` once for each pending playback of this media."""
        for item in self._store.pending():
            if item.sha256 == sha256 and not self._store.is_downloaded(item.playback_id):
                self.reporter.emit(item.playback_id, EventType.DOWNLOADED,
                                   together=partial(self._store.mark_downloaded,
                                                    item.playback_id))

    # --- status ------------------------------------------------------------------------

    def _status(self, *, online: bool) -> bytes:
        return encode(Status(state="online" if online else "offline", boot_id=self._boot_id,
                             at=utcnow(), clock_offset_ms=self.clock.offset_ms,
                             clock_uncertainty_ms=self.clock.uncertainty_ms,
                             now_playing=self.player.now_playing if online else None))

    def publish_status(self) -> None:
        """Publish the retained online status, when connected."""
        if self._link.connected:
            self._link.publish(Channel.STATUS, self._status(online=True), retain=True)

    async def heartbeat(self) -> None:
        """Republish the status every heartbeat interval."""
        while True:
            await asyncio.sleep(self._settings.heartbeat_s)
            self.publish_status()
