"""One simulated station: the agent's Station with the simulator's parts plugged in."""

from __future__ import annotations

from dataclasses import dataclass

from agents.config import Settings
from agents.fetch import Clock
from agents.station import Station
from simulate.backlog import Backlog
from simulate.heap import Heap
from simulate.hub import MqttHub
from simulate.link import SimLink
from simulate.media import SharedMedia, SimCache
from simulate.output import TimedOutput
from simulate.stats import Stats
from simulate.store import MemoryStore


@dataclass(frozen=True)
class Shared:
    """What every simulated station of the process shares."""

    hub: MqttHub
    backlog: Backlog  # reports and statuses wait here while reads and starts go first
    media: SharedMedia
    clock: Clock  # one machine, one clock: measured once for all
    stats: Stats
    heap: Heap  # the collector pauses for a burst of plans


def sim_station(settings: Settings, *, shared: Shared, boot_id: str) -> Station:
    """Build a station whose plan, media, command and status handling are the agent's own."""
    link = SimLink(settings, boot_id=boot_id, hub=shared.hub, stats=shared.stats,
                   backlog=shared.backlog, heap=shared.heap)
    return Station(settings, store=MemoryStore(shared.stats), link=link,
                   cache=SimCache(shared.media, owner=(settings.station, settings.token)),
                   output=TimedOutput(), clock=shared.clock, boot_id=boot_id,
                   later=shared.backlog.later)
