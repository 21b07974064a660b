"""The simulator's one heap, kept out of the way of a burst of plans.

Ten thousand stations in one process are millions of objects in one heap, where ten thousand
radio PCs have ten thousand small ones. A full pass of Python's cyclic garbage collector
walks them all and stalls every station of the process at once; even the young passes,
which an emergency's burst of plans sets off hundreds of times, showed up at every
allocation in profiles of the burst. So the collector pauses when a plan arrives and the
heap is settled — collected, and what survives taken out of later full passes — once the
fleet is idle again: after a burst (no plan for a few seconds), and at the latest after
MOST_PAUSED_S, so that a steady trickle of plans cannot keep it off for good. Memory is freed
by reference counting all along; only reference cycles wait for the settle.
"""

from __future__ import annotations

import gc
import time

MOST_PAUSED_S = 30.0


class Heap:
    """Pauses the cyclic collector for a burst of plans, settles the heap after it."""

    def __init__(self) -> None:
        self._paused_at: float | None = None

    def pause(self) -> None:
        """A plan arrived: no collection until the heap is settled."""
        if self._paused_at is None:
            self._paused_at = time.monotonic()
            gc.disable()

    def paused_for(self) -> float:
        """Seconds the collector has been paused (0 while it runs)."""
        return 0.0 if self._paused_at is None else time.monotonic() - self._paused_at

    def settle(self) -> None:
        """Collect once, take the survivors out of later full passes, let the collector run."""
        gc.collect()
        gc.freeze()
        gc.enable()
        self._paused_at = None
