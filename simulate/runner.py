"""Run N simulated stations in one process until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import uuid
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from agents.config import OutputSpec, Settings, SettingsError
from agents.fetch import Clock
from agents.station import Station
from simulate.backlog import Backlog
from simulate.heap import MOST_PAUSED_S, Heap
from simulate.hub import MqttHub
from simulate.media import SharedMedia
from simulate.register import Credentials, login, register_all, save
from simulate.station import Shared, sim_station
from simulate.stats import Stats

log = logging.getLogger(__name__)

SETTLE_AFTER_S = 3.0  # after a burst of plans, the heap is settled once no plan came for this

HTTP_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
FDS_SPARE = 200  # files, pipes and the HTTP pool besides one socket per station
BUILD_BATCH = 200  # stations built between two yields to the loop
CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class SimConfig:
    server: str
    mqtt_host: str
    mqtt_port: int
    stations: int
    username: str
    password: str
    prefix: str
    state_dir: Path
    connect_limit: int = 100
    summary_s: float = 10.0
    heartbeat_s: float = 30.0
    clock_interval_s: float = 300.0
    own_media: bool = False  # each station downloads its own copy (simulate/media.py)


def raise_fd_limit(stations: int) -> None:
    """Allow one socket per station, or say clearly why not."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = stations + FDS_SPARE
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise SettingsError(f"Không đủ giới hạn tệp mở — {stations} stations need {needed} "
                            f"open files but the hard limit is {hard}; raise it (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def run(config: SimConfig) -> int:
    """Register or reuse the stations, run them all until a stop signal; return 0."""
    raise_fd_limit(config.stations)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        admin = await stack.enter_async_context(
            httpx.AsyncClient(base_url=config.server, timeout=HTTP_TIMEOUT))
        token = await login(admin, username=config.username, password=config.password)
        admin.headers["Authorization"] = f"Bearer {token}"
        logins = await register_all(admin, prefix=config.prefix, count=config.stations)
        save(config.state_dir / CREDENTIALS_FILE, logins)
        shared = await _shared(stack, config, logins[0])
        stations = await _build(stack, config, shared, logins)
        _background(stack, _summaries(config, shared, stations))
        await stop.wait()
        log.info("stopping %d station(s)", len(stations))
    log.info("stopped; %s", _summary(shared, stations))
    return 0


async def _shared(stack: AsyncExitStack, config: SimConfig, first: Credentials) -> Shared:
    """Build what the stations share: the hub, the media cache and the clock."""
    # Media and time are fetched with the first station's token: any station may read them.
    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=config.server, timeout=HTTP_TIMEOUT,
                                 headers={"Authorization": f"Bearer {first.token}"})

    http = await stack.enter_async_context(client())
    hub = MqttHub(connect_limit=config.connect_limit)
    stack.push_async_callback(hub.close)
    _background(stack, hub.run())
    # media is downloaded on a thread of its own (see SharedMedia), with a client of its own
    media = SharedMedia(config.state_dir / "media", make_http=client, own=config.own_media)
    stack.push_async_callback(media.close)
    clock = Clock(http, interval_s=config.clock_interval_s)
    _background(stack, clock.run())
    backlog = Backlog()
    _background(stack, backlog.run())
    return Shared(hub=hub, backlog=backlog, media=media, clock=clock, stats=Stats(),
                  heap=Heap())


async def _build(stack: AsyncExitStack, config: SimConfig, shared: Shared,
                 logins: list[Credentials]) -> list[Station]:
    """Start every station; their shutdowns run together on exit."""
    stations: list[Station] = []
    boot_id = uuid.uuid4().hex  # one process, one boot
    for index, creds in enumerate(logins):
        settings = Settings(server=config.server, station=str(creds.station_id),
                            token=creds.token, mqtt_host=config.mqtt_host,
                            mqtt_port=config.mqtt_port, output=OutputSpec("null"),
                            state_dir=config.state_dir, heartbeat_s=config.heartbeat_s,
                            clock_interval_s=config.clock_interval_s)
        station = sim_station(settings, shared=shared, boot_id=boot_id)
        station.begin()
        stations.append(station)
        if index % BUILD_BATCH == BUILD_BATCH - 1:
            await asyncio.sleep(0)

    async def shutdown() -> None:
        await asyncio.gather(*(s.shutdown() for s in stations), return_exceptions=True)

    stack.push_async_callback(shutdown)
    tasks = [asyncio.create_task(coroutine) for station in stations
             for coroutine in (station.player.run(), station.reporter.run(), station.heartbeat())]

    async def cancel() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    stack.push_async_callback(cancel)
    log.info("%d station(s) started, connecting to mqtt://%s:%d", len(stations),
             config.mqtt_host, config.mqtt_port)
    return stations


async def _summaries(config: SimConfig, shared: Shared, stations: list[Station]) -> None:
    """Log a summary every interval, and once when every station is first connected; settle
    the heap then, and after each burst of plans (heap.py)."""
    loop = asyncio.get_running_loop()
    announced, last, settled = False, loop.time(), 0
    while True:
        await asyncio.sleep(1.0)
        if not announced and all(s.online for s in stations):
            announced = True
            log.info("all %d station(s) connected", len(stations))
            shared.heap.settle()
            settled = shared.stats.plans
        elif shared.heap.paused_for() >= MOST_PAUSED_S or (
                announced and shared.stats.plans != settled
                and shared.backlog.quiet_for() >= SETTLE_AFTER_S):
            # what a burst of plans left behind, once it is over; and never paused for long,
            # even while some stations have not connected yet
            shared.heap.settle()
            settled = shared.stats.plans
        if loop.time() - last >= config.summary_s:
            last = loop.time()
            log.info("%s", _summary(shared, stations))


def _summary(shared: Shared, stations: list[Station]) -> str:
    return shared.stats.summary(stations=len(stations),
                                connected=sum(s.online for s in stations),
                                downloads=shared.media.downloads)


def _background(stack: AsyncExitStack, coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine as a task that the stack cancels and awaits on exit."""
    task = asyncio.create_task(coroutine)

    async def cancel() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    stack.push_async_callback(cancel)
