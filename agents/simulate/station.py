"""One simulated station: the agent's Station with the simulator's parts plugged in."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from agents.clock import Clock
from agents.commands import Commands, load_gain
from agents.config import Settings
from agents.outputs import GainBackend, NullBackend
from agents.simulate.backlog import Backlog
from agents.simulate.heap import Heap
from agents.simulate.hub import MqttHub
from agents.simulate.link import SimLink
from agents.simulate.media import SharedMedia, SimCache
from agents.simulate.player import SimPlayer, SimReporter
from agents.simulate.stats import Stats
from agents.simulate.store import MemoryStore
from agents.station import Station
from wardcast.protocol import Plan


@dataclass(frozen=True)
class Shared:
    """What every simulated station of the process shares."""

    hub: MqttHub
    backlog: Backlog  # reports wait here while reads and starts go first
    media: SharedMedia
    clock: Clock  # one machine, one clock: measured once for all
    stats: Stats
    heap: Heap  # the collector pauses for a burst of plans


class SimStation(Station):
    """Station's plan, media, command and status handling, unchanged, over lighter parts."""

    def __init__(self, *, settings: Settings, shared: Shared, boot_id: str) -> None:
        # Station.__init__ builds the real parts (SQLite, a paho thread, ffmpeg); the same
        # wiring is done here with the simulator's, so every handler of Station still applies.
        store = MemoryStore()
        self._settings = settings
        self._store = store
        self._boot_id = boot_id
        self.clock = shared.clock
        self._cache = SimCache(shared.media)
        self._link = SimLink(settings, boot_id=boot_id, handlers=self, hub=shared.hub)
        self.reporter = SimReporter(store=store, link=self._link, clock=self.clock,
                                    boot_id=boot_id, resend_after_s=settings.resend_after_s)
        self.reporter.stats = shared.stats
        self.reporter.backlog = shared.backlog
        self.gain = load_gain(store)
        self.player = SimPlayer(settings=settings, store=store, cache=self._cache,
                                backend=GainBackend(NullBackend(), self.gain),
                                reporter=self.reporter, clock=self.clock,
                                on_change=self.publish_status)
        self.player.stats = shared.stats
        self._commands = Commands(store=store, link=self._link, player=self.player,
                                  gain=self.gain, resync=self._request_sync)
        self._downloads: dict[str, asyncio.Task[None]] = {}  # stays empty: see _fetch_missing
        self._media = shared.media
        self._stats = shared.stats
        self._backlog = shared.backlog
        self._heap = shared.heap
        self._status_waiting = False

    @property
    def online(self) -> bool:
        """Tell whether the station's MQTT session is up."""
        return self._link.connected

    def publish_status(self) -> None:
        """Publish the status once the work due now is done (see backlog.py).

        A status is retained and read when it is published, so one already waiting says
        the latest: a second is not queued behind it.
        """
        if not self._status_waiting:
            self._status_waiting = True
            self._backlog.later(self._publish_status_now)

    def _publish_status_now(self) -> None:
        self._status_waiting = False
        super().publish_status()

    def _fetch_missing(self) -> None:
        """Ask the shared media for every pending item's file that is not whole yet.

        No download task per station: SharedMedia downloads each file once and calls every
        station waiting for it in one pass of the loop. A failed download calls nobody; the
        next plan asks again (as the agent retries a download on its next plan).
        """
        for item in self._store.pending():
            if self._cache.path(item.sha256) is not None:
                self._media_ready(item.sha256)
            else:  # at most once per sha256: SharedMedia keeps each callback once
                self._media.want(item.sha256, item.media_path, self._shared_media_ready)

    def _shared_media_ready(self, sha256: str) -> None:
        """Take a file the shared download made whole (reported for the items still pending)."""
        self._media_ready(sha256)
        self.player.wake()

    def connected(self) -> None:
        self._stats.connects += 1  # one more than the stations: a reconnect (and its sync)
        super().connected()

    def _apply_plan(self, plan: Plan) -> None:
        self._stats.plans += 1
        self._backlog.hold()  # a burst of plans (an emergency): reports wait for its end
        self._heap.pause()
        super()._apply_plan(plan)

    async def heartbeat(self) -> None:
        """Republish the status every interval, each station at its own phase."""
        # Stations that connected together would otherwise all heartbeat in the same second.
        await asyncio.sleep(random.uniform(0, self._settings.heartbeat_s))
        await super().heartbeat()
