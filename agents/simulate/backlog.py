"""What the simulated stations put off until the time-critical work of the moment is done.

Ten thousand agents on one thread would otherwise delay each other in a way ten thousand
radio PCs never do: the last station to read an emergency plan would start only after every
other station had also published its `accepted`, `downloaded` and status messages. Reports
therefore go out a slice per turn of the loop, in the order they were made, while reads, due
timers and starts run at every turn. Nothing is dropped: every report is still published (and
resent until the scheduler confirms it, as the agent does).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

SLICE = 50  # callbacks per turn of the loop: a few milliseconds


class Backlog:
    """Runs callbacks in arrival order, one slice per turn of the event loop."""

    def __init__(self) -> None:
        self._waiting: deque[Callable[[], object]] = deque()
        self._more = asyncio.Event()

    def __len__(self) -> int:
        return len(self._waiting)

    def later(self, callback: Callable[[], object]) -> None:
        """Run callback once the work due now has had its turn."""
        self._waiting.append(callback)
        self._more.set()

    async def run(self) -> None:
        """Drain the backlog for ever, yielding to the loop after every slice."""
        while True:
            await self._more.wait()
            self._more.clear()
            while self._waiting:
                for _ in range(min(SLICE, len(self._waiting))):
                    callback = self._waiting.popleft()
                    try:
                        callback()
                    except Exception:  # one station's report must not stop the others'
                        log.exception("a deferred report failed")
                await asyncio.sleep(0)
