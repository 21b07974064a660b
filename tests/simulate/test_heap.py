"""The simulator's heap: the collector pauses for a burst of plans and comes back after it."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from simulate import runner
from simulate.backlog import Backlog
from simulate.heap import Heap
from simulate.station import Shared
from simulate.stats import Stats


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def _collector_back() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


def test_a_plan_pauses_the_collector_and_settling_collects_what_the_burst_left() -> None:
    heap = Heap()
    assert gc.isenabled() and heap.paused_for() == 0
    heap.pause()
    heap.pause()  # every plan of the burst says so; the first one counts
    assert not gc.isenabled()
    time.sleep(0.05)
    assert heap.paused_for() >= 0.05
    cycle = _Node()
    gone = weakref.ref(cycle)
    del cycle
    for _ in range(3000):  # allocations that would have set off young collections
        _ = [object() for _ in range(10)]
    assert gone() is not None  # paused: nothing collected it
    heap.settle()
    assert gone() is None
    assert gc.isenabled() and heap.paused_for() == 0
    assert gc.get_freeze_count() > 0  # the survivors are out of later full passes


class _Online:
    online = True


def _shared(heap: Heap, backlog: Backlog, stats: Stats) -> Shared:
    return Shared(hub=None, backlog=backlog, media=SimpleNamespace(downloads=0),  # type: ignore[arg-type]
                  clock=None, stats=stats, heap=heap)  # type: ignore[arg-type]


def test_the_runner_settles_after_a_burst_and_never_pauses_for_long(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Connected: settled. A burst: paused, then settled once quiet. Plans that never stop:
    settled anyway after MOST_PAUSED_S."""
    monkeypatch.setattr(runner, "SETTLE_AFTER_S", 1.0)
    monkeypatch.setattr(runner, "MOST_PAUSED_S", 2.5)
    config = SimpleNamespace(summary_s=3600)

    async def main() -> list[tuple[str, bool]]:
        heap, backlog, stats = Heap(), Backlog(), Stats()
        seen: list[tuple[str, bool]] = []
        heap.pause()  # the plans of the connect-time sync
        stats.plans += 1
        task = asyncio.create_task(runner._summaries(
            config, _shared(heap, backlog, stats), [_Online()]))  # type: ignore[arg-type, list-item]
        try:
            await asyncio.sleep(1.3)
            seen.append(("all connected", gc.isenabled()))
            heap.pause()  # a burst: one plan, then quiet
            backlog.hold()
            stats.plans += 1
            await asyncio.sleep(0.5)
            seen.append(("during the burst", gc.isenabled()))
            await asyncio.sleep(1.7)
            seen.append(("quiet for a second", gc.isenabled()))
            heap.pause()  # plans every 0.2 s, for good
            began = time.monotonic()
            while gc.isenabled() is False and time.monotonic() - began < 6:
                backlog.hold()
                stats.plans += 1
                await asyncio.sleep(0.2)
            seen.append((f"trickle, settled: {time.monotonic() - began < 4}", gc.isenabled()))
        finally:
            task.cancel()
        return seen

    assert asyncio.run(main()) == [("all connected", True), ("during the burst", False),
                                   ("quiet for a second", True),
                                   ("trickle, settled: True", True)]


class _Offline:
    online = False


def test_the_collector_comes_back_even_while_a_station_never_connects(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "MOST_PAUSED_S", 1.5)
    config = SimpleNamespace(summary_s=3600)

    async def main() -> tuple[bool, bool]:
        heap = Heap()
        heap.pause()  # the connect-time sync of the stations that did connect
        task = asyncio.create_task(runner._summaries(
            config, _shared(heap, Backlog(), Stats()), [_Online(), _Offline()]))  # type: ignore[arg-type, list-item]
        try:
            await asyncio.sleep(1.2)
            before = gc.isenabled()
            await asyncio.sleep(1.3)
            return before, gc.isenabled()
        finally:
            task.cancel()

    assert asyncio.run(main()) == (False, True)
