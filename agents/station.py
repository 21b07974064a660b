"""The station: the agent composed from its parts (plans and commands in, status out).

Station(settings, store=…, link=…, cache=…, output=…, clock=…) takes its parts by keyword:
the agent's own are SQLite, paho's network thread, the media cache and ffmpeg into the sound
card (``run``: ``wardcast agent``), the simulator's are lighter (simulate/station.py). All of
it runs on the asyncio loop's thread: the station is the link's handler.

A command is recorded by id before it is carried out, so one the broker delivers again (QoS 1
after a reconnect or a restart) is answered again with the stored result, never carried out
twice. Results are not kept in the outbox: a lost one is only a missing confirmation (the
effect shows in events and status), and the scheduler may send the command again.

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
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx

from agents.config import Settings, SettingsError, make_backend, settings_from
from agents.fetch import Clock, Media, MediaCache
from agents.link import Later, Link, MqttLink, Reporter, soon
from agents.output import AudioOutput, Output, ToneRequest
from agents.player import Player
from agents.store import SqliteStore, Store
from wardcast.protocol import (
    Ack,
    Channel,
    Command,
    CommandHeader,
    CommandResult,
    CommandType,
    EventType,
    Plan,
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
VOLUME_KEY = "volume_percent"
DETAIL_MAX = 500


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
        self._cache.evict(self._needed())
        self._fetch_missing()
        self.player.wake()

    def _request_sync(self) -> None:
        request = SyncRequest(boot_id=self._boot_id, sent_at=utcnow(),
                              agent_version=AGENT_VERSION)
        self._link.publish(Channel.SYNC, encode(request))

    # --- media -------------------------------------------------------------------------

    def _fetch_missing(self) -> None:
        """Ask for the media of every pending item, reporting what is cached already."""
        for item in self._store.pending():
            if self._cache.path(item.sha256) is not None:
                self._media_ready(item.sha256)
            else:
                self._cache.want(item.sha256, item.media_path, ready=self._media_arrived,
                                 needed=partial(self._needs, item.sha256))

    def _media_arrived(self, sha256: str) -> None:
        self._media_ready(sha256)
        self._cache.evict(self._needed())
        self.player.wake()

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


class InvalidArgs(ValueError):
    """A command's arguments are missing or out of range; the message says which."""


class Commands:
    """Carries out the commands of the COMMAND channel and answers them."""

    def __init__(self, *, store: Store, reporter: Reporter, player: Player, output: Output,
                 resync: Callable[[], None]) -> None:
        self._store = store
        self._reporter = reporter
        self._player = player
        self._output = output
        self._resync = resync

    def recover(self) -> None:
        """Take the volume last set; answer commands a previous run never finished."""
        stored = self._store.setting(VOLUME_KEY)
        self._output.volume = float(stored) if stored is not None else 100.0
        for command_id in self._store.unanswered_commands():
            self._answer(command_id, False, "the agent restarted before the command finished")

    def handle(self, payload: bytes) -> None:
        """Carry out a command once, or answer a repeated one again."""
        try:
            command = decode(Command, payload)
        except ProtocolError as exc:
            self._refuse(payload, exc)
            return
        if not self._store.begin_command(command.command_id, command.type.value):
            self._repeat(command.command_id)
            return
        log.info("command %s: %s %s", command.command_id, command.type.value, command.args)
        try:
            self._execute(command)
        except InvalidArgs as exc:
            self._answer(command.command_id, False, f"invalid args: {exc}")
        except Exception as exc:  # a bad command must not take the agent down
            log.exception("command %s failed", command.command_id)
            self._answer(command.command_id, False, f"agent_error: {exc}")

    def _execute(self, command: Command) -> None:
        answer = partial(self._answer, command.command_id)
        if command.type is CommandType.RESYNC:
            self._resync()
            answer(True, "plan requested")
        elif command.type is CommandType.STOP:
            stopped = self._player.stop(f"stopped by command {command.command_id}")
            answer(True, f"stopped {stopped}" if stopped else "nothing was playing")
        elif command.type is CommandType.VOLUME:
            percent = _number(command.args, "percent", 0, 100)
            self._output.volume = percent
            self._store.set_setting(VOLUME_KEY, repr(percent))
            answer(True, f"volume {percent:g}%")
        elif command.type is CommandType.TEST_TONE:
            seconds = _number(command.args, "seconds", 1, 30, default=5)
            hz = _number(command.args, "hz", 50, 8000, default=1000)
            self._player.play_tone(ToneRequest(command.command_id, hz=hz, seconds=seconds,
                                               done=answer))
        else:  # a type this protocol module knows but this agent does not carry out
            answer(False, "unknown command")

    def _refuse(self, payload: bytes, error: ProtocolError) -> None:
        """Answer a command that does not parse, when it at least has an id."""
        identified = _identify(payload)
        if identified is None:
            log.warning("dropped a malformed cmd message: %s", error)
            return
        command_id, kind = identified
        if not self._store.begin_command(command_id, kind):
            self._repeat(command_id)
            return
        known = kind in {member.value for member in CommandType}
        self._answer(command_id, False, f"invalid command: {error}" if known
                     else "unknown command")

    def _repeat(self, command_id: str) -> None:
        """Answer a command seen before with the result it got, if it has one yet."""
        stored = self._store.command_result(command_id)
        if stored is None:
            log.info("command %s again while still being carried out", command_id)
            return
        log.info("command %s again: answered again, not carried out twice", command_id)
        self._reporter.answer(stored)

    def _answer(self, command_id: str, ok: bool, detail: str) -> None:
        """Record a command's result and publish it."""
        result = CommandResult(command_id=command_id, ok=ok, at=utcnow(),
                               detail=detail[:DETAIL_MAX])
        payload = encode(result)
        self._store.finish_command(command_id, payload)
        log.info("command %s %s: %s", command_id, "done" if ok else "refused", detail)
        self._reporter.answer(payload)


def _identify(payload: bytes) -> tuple[str, str] | None:
    """Return (command id, type) of an invalid command, when it names an id."""
    try:
        header = decode(CommandHeader, payload)
    except ProtocolError:
        return None
    return header.command_id, header.type


def _number(args: dict[str, Any], name: str, low: float, high: float, *,
            default: float | None = None) -> float:
    """Return a numeric argument within [low, high], or raise InvalidArgs."""
    value = args.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            low <= value <= high):
        raise InvalidArgs(f"{name} must be a number from {low:g} to {high:g}")
    return float(value)


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
        station = Station(settings, store=store, boot_id=boot_id,
                          link=MqttLink(settings, boot_id=boot_id),
                          cache=MediaCache(settings.cache_dir, http=http,
                                           max_bytes=settings.cache_max_bytes),
                          output=AudioOutput(make_backend(settings.output)),
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
