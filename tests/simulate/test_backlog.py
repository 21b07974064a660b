"""The simulator's backlog: reports wait while plans keep arriving, but never for ever."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from functools import partial
from typing import Any

from simulate.backlog import Backlog


async def _run_with(backlog: Backlog, body: Coroutine[Any, Any, None]) -> None:
    runner = asyncio.create_task(backlog.run())
    try:
        await body
    finally:
        runner.cancel()


def test_reports_go_out_in_order_at_once_when_no_plan_arrives() -> None:
    async def main() -> list[int]:
        backlog, ran = Backlog(quiet_s=5, most_s=10), list[int]()

        async def body() -> None:
            for n in range(120):  # more than one slice
                backlog.later(partial(ran.append, n))
            for _ in range(20):
                await asyncio.sleep(0)

        await _run_with(backlog, body())
        return ran

    assert asyncio.run(main()) == list(range(120))


def test_reports_wait_while_plans_arrive_then_go_out() -> None:
    async def main() -> tuple[list[float], float]:
        backlog, ran = Backlog(quiet_s=0.2, most_s=10), list[float]()
        began = time.monotonic()

        async def body() -> None:
            backlog.hold()
            backlog.later(lambda: ran.append(time.monotonic() - began))
            for _ in range(6):  # a plan every 0.1 s for 0.6 s
                await asyncio.sleep(0.1)
                backlog.hold()
            assert ran == []  # held all along
            await asyncio.sleep(0.5)

        await _run_with(backlog, body())
        return ran, time.monotonic() - began

    ran, _ = asyncio.run(main())
    assert len(ran) == 1 and ran[0] >= 0.6 + 0.2  # the last plan, then the quiet time


def test_a_report_waits_at_most_most_s_however_many_plans_arrive() -> None:
    async def main() -> list[float]:
        backlog, ran = Backlog(quiet_s=0.2, most_s=0.5), list[float]()
        began = time.monotonic()

        async def body() -> None:
            backlog.later(lambda: ran.append(time.monotonic() - began))
            backlog.later(lambda: ran.append(time.monotonic() - began))
            while time.monotonic() - began < 1.5:  # plans without end
                backlog.hold()
                await asyncio.sleep(0.05)

        await _run_with(backlog, body())
        return ran

    ran = asyncio.run(main())
    assert len(ran) == 2 and all(0.5 <= t < 1.0 for t in ran)


def test_quiet_for_counts_from_the_last_plan_once_the_reports_are_out() -> None:
    async def main() -> tuple[float, float, float]:
        backlog = Backlog(quiet_s=0.05, most_s=10)
        runner = asyncio.create_task(backlog.run())
        backlog.hold()
        backlog.later(lambda: None)
        waiting = backlog.quiet_for()  # a report waits: not quiet
        await asyncio.sleep(0.3)
        sent = backlog.quiet_for()
        backlog.hold()
        again = backlog.quiet_for()
        runner.cancel()
        return waiting, sent, again

    waiting, sent, again = asyncio.run(main())
    assert waiting == 0.0 and sent >= 0.25 and again < 0.05
