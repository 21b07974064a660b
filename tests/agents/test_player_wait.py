"""Player._wait: returns when the task ends, the time passes or (unless told not to) the
player is woken, including a wake-up that came before the wait began; no task of its own
(with 500 stations on one loop, the simulator's, a task per wait made every start later)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from agents.config import NullBackend, OutputSpec, Settings
from agents.fetch import Clock, MediaCache
from agents.link import MqttLink, Reporter
from agents.output import AudioOutput
from agents.player import Player
from simulate.store import MemoryStore


def _run(tmp_path: Path, body: Callable[[Player], Awaitable[None]]) -> None:
    async def scenario() -> None:
        settings = Settings(server="http://unused", station="1", token="t",
                            mqtt_host="127.0.0.1", mqtt_port=1, output=OutputSpec("null"),
                            state_dir=tmp_path)
        store = MemoryStore()
        async with httpx.AsyncClient() as http:
            clock = Clock(http, interval_s=300)
            link = MqttLink(settings, boot_id="boot")
            reporter = Reporter(store=store, link=link, clock=clock, boot_id="boot",
                                resend_after_s=30)
            player = Player(settings=settings, store=store,
                            cache=MediaCache(tmp_path / "media", http=http),
                            output=AudioOutput(NullBackend()), reporter=reporter)
            await body(player)

    asyncio.run(scenario())


async def _elapsed(waiting: Awaitable[None]) -> float:
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with asyncio.timeout(5):  # not wait_for: it would add a task of its own
        await waiting
    return loop.time() - began


def _forever() -> asyncio.Task[None]:
    return asyncio.create_task(asyncio.sleep(3600))


def test_a_wake_before_the_wait_returns_at_once(tmp_path: Path) -> None:
    async def body(player: Player) -> None:
        task = _forever()
        player.wake()  # after run() cleared the flag, before _wait began
        assert await _elapsed(player._wait(task, 2.0)) < 0.5
        # not so with wake=False: only the time (or the task) ends that wait
        assert await _elapsed(player._wait(task, 0.3, wake=False)) >= 0.29
        task.cancel()

    _run(tmp_path, body)


def test_wait_returns_on_wake_on_task_end_or_timeout(tmp_path: Path) -> None:
    async def body(player: Player) -> None:
        loop = asyncio.get_running_loop()
        task = _forever()
        loop.call_later(0.2, player.wake)
        assert 0.15 < await _elapsed(player._wait(task, None)) < 1.0

        player._woken = None  # as run() does before each step
        loop.call_later(0.1, player.wake)  # ignored: wake=False
        assert await _elapsed(player._wait(task, 0.4, wake=False)) >= 0.39

        player._woken = None  # as run() does before each step
        assert await _elapsed(player._wait(task, -5)) < 0.1  # negative: no wait
        assert await _elapsed(player._wait(task, 0.2)) >= 0.19

        loop.call_later(0.2, task.cancel)
        assert 0.15 < await _elapsed(player._wait(task, None, wake=False)) < 1.0
        assert await _elapsed(player._wait(task, None)) < 0.1  # already ended

    _run(tmp_path, body)


def test_a_cancelled_wait_leaves_nothing_behind(tmp_path: Path) -> None:
    async def body(player: Player) -> None:
        task = _forever()
        before = asyncio.all_tasks()
        waiting = asyncio.create_task(player._wait(task, 10.0))
        await asyncio.sleep(0.05)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await asyncio.sleep(0)  # what the wait started ends on the loop's next turn
        assert asyncio.all_tasks() == before  # no waiter left behind
        player.wake()  # nothing waiting: only the flag is set
        assert player._woken is not None and player._woken.done()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    _run(tmp_path, body)


def test_a_wait_makes_no_task_of_its_own(tmp_path: Path) -> None:
    async def body(player: Player) -> None:
        task = _forever()
        before = asyncio.all_tasks()
        waiting = asyncio.create_task(player._wait(task, 10.0))
        woken = asyncio.create_task(player._woken_within(10.0))
        await asyncio.sleep(0.05)
        assert asyncio.all_tasks() == before | {waiting, woken}  # only the two waits
        player.wake()
        async with asyncio.timeout(1):
            await waiting
            assert await woken is True
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    _run(tmp_path, body)
