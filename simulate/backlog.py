"""What the simulated stations put off until the time-critical work of the moment is done.

Ten thousand agents on one thread would otherwise delay each other in a way ten thousand
radio PCs never do: the last station to read an emergency plan would start only after every
other station had also published its `accepted`, `downloaded` and status messages. Reports
therefore go out a slice per turn of the loop, in the order they were made, while reads, due
timers and starts run at every turn.

While plans keep arriving (an emergency reaching the whole fleet), reports wait until none
has come for QUIET_S: on one 2-core machine the reports of the first stations, and the
scheduler storing them, would otherwise take the CPU that the last stations' plans need, a
contention that stations on their own PCs do not have. A report waits at most MOST_S; after
that the backlog goes out a slice per turn again, plans or not. Nothing is dropped: every
report is still published (and resent until the scheduler confirms it, as the agent does).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

SLICE = 50  # callbacks per turn of the loop: a few milliseconds
QUIET_S = 0.1  # reports wait until no plan has arrived for this long...
MOST_S = 5.0  # ...but none waits longer than this


class Backlog:
    """Runs callbacks in arrival order, one slice per turn of the event loop."""

    def __init__(self, *, quiet_s: float = QUIET_S, most_s: float = MOST_S) -> None:
        self._waiting: deque[tuple[float, Callable[[], object]]] = deque()
        self._more = asyncio.Event()
        self._quiet_s = quiet_s
        self._most_s = most_s
        self._held_at = 0.0  # when the last plan arrived

    def __len__(self) -> int:
        return len(self._waiting)

    def later(self, callback: Callable[[], object]) -> None:
        """Run callback once the work due now has had its turn."""
        self._waiting.append((time.monotonic(), callback))
        self._more.set()

    def hold(self) -> None:
        """Time-critical work arrived (a plan): let reports wait until it has been quiet."""
        self._held_at = time.monotonic()

    def quiet_for(self) -> float:
        """Seconds since the last plan arrived, or 0 while reports are still waiting."""
        return 0.0 if self._waiting else time.monotonic() - self._held_at

    async def run(self) -> None:
        """Drain the backlog for ever, yielding to the loop after every slice."""
        while True:
            await self._more.wait()
            self._more.clear()
            while self._waiting:
                await self._until_due()
                for _ in range(min(SLICE, len(self._waiting))):
                    _, callback = self._waiting.popleft()
                    try:
                        callback()
                    except Exception:  # one station's report must not stop the others'
                        log.exception("a deferred report failed")
                await asyncio.sleep(0)

    async def _until_due(self) -> None:
        """Wait while plans keep arriving, unless the oldest report has waited MOST_S."""
        while self._waiting:
            now = time.monotonic()
            due = min(self._held_at + self._quiet_s, self._waiting[0][0] + self._most_s)
            if due <= now:
                return
            await asyncio.sleep(due - now)
