"""The station: the agent composed from its parts (plans and commands in, status out).

Station(settings, store=…, link=…, cache=…, output=…, clock=…) takes its parts by keyword:
the agent's own are SQLite, paho's network thread, the media cache and ffmpeg into the sound
card (``run``: ``wardcast agent``), the simulator's are lighter (simulate/station.py). All of
it runs on the asyncio loop's thread: the station is the link's handler.

Commands and group messages are carried out as orders.py says.

Shutdown runs in reverse of the start: the player stops (reporting an interrupted
playback), the scheduler gets a moment to confirm the events, the link says "offline" and
disconnects, then the HTTP client and the store close.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import signal
import uuid
from collections.abc import Mapping
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from types import MappingProxyType

import httpx

from agents.config import Settings, SettingsError, make_backend, settings_from
from agents.fetch import Clock, Media, MediaCache
from agents.link import Later, Link, MqttLink, Reporter, soon
from agents.orders import Commands, Groups, merged, read
from agents.output import Output
from agents.player import Player
from agents.relay import RelayingOutput
from agents.store import SqliteStore, Store
from wardcast.protocol import (
    FEATURE_GROUPS,
    FEATURE_RELAY,
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
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
NO_SPREAD: Mapping[str, float] = MappingProxyType({})


try:
    AGENT_VERSION = version("wardcast")
except PackageNotFoundError:  # run from a source tree
    AGENT_VERSION = ""


class Station:
    """One station's agent: its parts, and what it does with what the link brings."""

    _latest_plan: tuple[int, datetime] | None = None  # (revision, generated_at) applied last

    def __init__(self, settings: Settings, *, store: Store, link: Link, cache: Media,
                 output: Output, clock: Clock, boot_id: str, later: Later = soon) -> None:
        """Wire the parts; later runs what may wait for the work due now (reports, status)."""
        self._settings = settings
        self._store = store
        self._link = link
        self._cache = cache
        self._boot_id = boot_id
        self._later = later
        self._status_waiting = False
        self.clock = clock
        self.reporter = Reporter(store=store, link=link, clock=clock, boot_id=boot_id,
                                 resend_after_s=settings.resend_after_s, later=later)
        self.player = Player(settings=settings, store=store, cache=cache, output=output,
                             reporter=self.reporter, on_change=self.publish_status)
        self._commands = Commands(store=store, reporter=self.reporter, player=self.player,
                                  output=output, resync=self._request_sync)
        self._groups = Groups(store=store, link=link)

    @property
    def online(self) -> bool:
        """Tell whether the MQTT session is up."""
        return self._link.connected

    def begin(self) -> None:
        """Settle what a previous run left, start connecting and fetch missing media."""
        pruned = self._store.prune_events(older_than=EVENT_LOG_KEEP)
        if pruned:
            log.info("pruned %d confirmed event(s) older than %s", pruned, EVENT_LOG_KEEP)
        self.reporter.recover()
        self._commands.recover()
        self._link.start(self)
        self._cache.evict(self._needed())
        self._fetch_missing()

    async def shutdown(self) -> None:
        """Stop downloads, give the scheduler a moment to confirm, say offline, disconnect."""
        await self._cache.close()
        await self.reporter.drain(within_s=3.0)
        await self._link.stop(self._status(online=False))

    # --- link handlers ------------------------------------------------------------------

    def connected(self) -> None:
        """Announce ourselves, subscribe, resend events and command results, ask for the plan."""
        self.publish_status()
        self._link.subscribe()
        self.reporter.resend_all()
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

    def urgent(self, topic: str, payload: bytes) -> None:
        """Start what a group's (or the fleet's) urgent message brings, if it is for us."""
        try:
            message = read(topic, payload, self._groups)
        except ProtocolError as exc:
            log.warning("dropped a malformed urgent message: %s", exc)
            return
        if message is not None and message.item is not None:
            self._take(self._store.pending() + message.plan_items(),
                       spread={message.item.sha256: message.item.fetch_spread_ms / 1000})

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
        self._groups.follow(plan.groups)
        added = self._take(merged(plan, self._store.pending()))
        log.info("plan revision %d: %d item(s), %d new", plan.revision, len(plan.items),
                 len(added))

    def _take(self, items: list[PlanItem], *,
              spread: Mapping[str, float] = NO_SPREAD) -> list[PlanItem]:
        """Make items the pending plan: accept the new ones, trim the cache, fetch media
        (spread: sha256 -> seconds to spread its first request over, at random)."""
        added = self._store.replace_plan(items)
        for item in added:
            self.reporter.emit(item.playback_id, EventType.ACCEPTED)
        self._cache.evict(self._needed())
        self._fetch_missing(spread)
        self.player.wake()
        return added

    def _request_sync(self) -> None:
        request = SyncRequest(boot_id=self._boot_id, sent_at=utcnow(),
                              agent_version=AGENT_VERSION, features=[FEATURE_GROUPS, FEATURE_RELAY])
        self._link.publish(Channel.SYNC, encode(request))

    # --- media -------------------------------------------------------------------------

    def _fetch_missing(self, spread: Mapping[str, float] = NO_SPREAD) -> None:
        """Ask for the media of every pending item, reporting what is cached already; the
        first request for a sha256 in spread waits a random part of its spread."""
        for item in self._store.pending():
            if (media := item.wanted_media) is None:
                continue  # a relay without a filler: nothing to fetch
            sha256, path = media
            if self._cache.path(sha256) is not None:
                self._media_ready(sha256)
            else:
                self._cache.want(sha256, path, ready=self._media_arrived,
                                 needed=partial(self._needs, sha256),
                                 after_s=random.uniform(0.0, spread.get(sha256, 0.0)))

    def _media_arrived(self, sha256: str) -> None:
        self._media_ready(sha256)
        self._cache.evict(self._needed())
        self.player.wake()

    def _needed(self) -> set[str]:
        """Return the media the plan needs, including the item playing now."""
        return {media[0] for item in self._store.pending()
                if (media := item.wanted_media)} | self.player.media_in_use()

    def _needs(self, sha256: str) -> bool:
        return sha256 in self._needed()

    def _media_ready(self, sha256: str) -> None:
        """Report ``downloaded`` once for each pending playback of this media."""
        for item in self._store.pending():
            media = item.wanted_media
            if media and media[0] == sha256 and not self._store.is_downloaded(item.playback_id):
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
        """Publish the retained online status once the work due now is done, if connected.

        A status says what holds at the moment it is sent, so one already waiting stands
        for any asked meanwhile.
        """
        if not self._status_waiting:
            self._status_waiting = True
            self._later(self._publish_status_now)

    def _publish_status_now(self) -> None:
        self._status_waiting = False
        if self._link.connected:
            self._link.publish(Channel.STATUS, self._status(online=True), retain=True)

    async def heartbeat(self) -> None:
        """Republish the status every heartbeat interval, from a phase of its own."""
        # stations that reconnect together (a broker restart) do not heartbeat together
        await asyncio.sleep(random.uniform(0, self._settings.heartbeat_s))
        while True:
            await asyncio.sleep(self._settings.heartbeat_s)
            self.publish_status()


async def run(settings: Settings) -> int:
    """Run one ward agent until a stop signal; return the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    boot_id = uuid.uuid4().hex
    log.info("agent %s starting (boot %s)", settings.station, boot_id)
    async with AsyncExitStack() as stack:  # each clean-up registered as its part starts
        store = SqliteStore(settings.database)
        stack.callback(store.close)
        http = await stack.enter_async_context(httpx.AsyncClient(
            base_url=settings.server, timeout=HTTP_TIMEOUT, verify=settings.ssl_context(),
            headers={"Authorization": f"Bearer {settings.token}"}))
        # a live session's mount is heard with the station's own login (agents/relay.py)
        output = RelayingOutput(make_backend(settings.output),
                                station_login=(settings.station, settings.token))
        station = Station(settings, store=store, boot_id=boot_id,
                          link=MqttLink(settings, boot_id=boot_id),
                          cache=MediaCache(settings.cache_dir, http=http,
                                           max_bytes=settings.cache_max_bytes),
                          output=output,
                          clock=Clock(http, interval_s=settings.clock_interval_s))
        station.begin()
        stack.push_async_callback(station.shutdown)
        tasks = [asyncio.create_task(coroutine) for coroutine in (
            station.clock.run(), station.heartbeat(), station.player.run(),
            station.reporter.run())]
        stack.push_async_callback(_cancel, tasks)
        await stop.wait()
        log.info("stopping")
    log.info("stopped")
    return 0


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def main(args: argparse.Namespace) -> int:
    """Run the agent until SIGTERM or SIGINT; return the exit code."""
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.log_level != "DEBUG":  # one line per HTTP request is too chatty
        logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return asyncio.run(run(settings_from(args)))
    except SettingsError as exc:
        log.error("%s", exc)
        return 2
