"""`wardcast serve` sets the collector's policy once its app has started; the app does not."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from fastapi.testclient import TestClient

from scheduler.app import create_app
from scheduler.config import Settings
from wardcast.cli import COLLECTOR_THRESHOLDS, settled_server


def test_an_app_started_in_a_longer_process_leaves_its_collector_alone(
        settings: Settings) -> None:
    gc.unfreeze()
    with TestClient(create_app(settings)):
        assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_the_server_freezes_what_start_up_built_and_sets_the_thresholds_once_started() -> None:
    at_start: list[int] = []

    async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                  send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        assert scope["type"] == "lifespan"
        await receive()
        at_start.append(gc.get_freeze_count())  # the app's own start: nothing frozen yet
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    gc.unfreeze()
    defaults = gc.get_threshold()
    server = settled_server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on",
                                           log_level="error"))
    server.should_exit = True  # start, then stop at once
    try:
        server.run()
        frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
    finally:
        gc.unfreeze()
        gc.set_threshold(*defaults)
    assert server.started and at_start == [0]
    assert thresholds == COLLECTOR_THRESHOLDS != defaults
    assert frozen > 10_000  # uvicorn's, asyncio's, the test session's own objects...
