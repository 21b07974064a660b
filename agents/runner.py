"""Wire the agent together and run it until SIGTERM or SIGINT.

Each part is entered into one AsyncExitStack, so shutdown runs in reverse: the player stops
(reporting an interrupted playback), the scheduler gets a moment to confirm the events, the
link says "offline" and disconnects, then the HTTP client and the store close.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import uuid
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from typing import Any

import httpx

from agents.config import Settings
from agents.station import Station
from agents.store import Store

log = logging.getLogger(__name__)

HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


async def run(settings: Settings) -> int:
    """Run one ward agent until a stop signal; return the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    boot_id = uuid.uuid4().hex
    log.info("agent %s starting (boot %s)", settings.station, boot_id)
    async with AsyncExitStack() as stack:
        await _assemble(stack, settings, boot_id)
        await stop.wait()
        log.info("stopping")
    log.info("stopped")
    return 0


async def _assemble(stack: AsyncExitStack, settings: Settings, boot_id: str) -> Station:
    """Build and start every part, registering each one's clean-up."""
    store = Store(settings.database)
    stack.callback(store.close)
    http = await stack.enter_async_context(httpx.AsyncClient(
        base_url=settings.server, timeout=HTTP_TIMEOUT, verify=settings.ssl_context(),
        headers={"Authorization": f"Bearer {settings.token}"}))
    station = Station(settings=settings, store=store, http=http, boot_id=boot_id)
    station.begin()
    stack.push_async_callback(station.shutdown)
    for coroutine in (station.clock.run(), station.heartbeat(), station.player.run(),
                      station.reporter.run()):
        _background(stack, coroutine)
    return station


def _background(stack: AsyncExitStack, coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine as a task that the stack cancels and awaits on exit."""
    task = asyncio.create_task(coroutine)

    async def cancel() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    stack.push_async_callback(cancel)
