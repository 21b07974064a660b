"""The real Player over a playback that keeps real time without decoding.

The agent's Player decides what plays when (slots, late windows, preemption, skips, reports);
only the Playback under it changes: no ffmpeg per item (10,000 decoders would measure
ffmpeg), a sleep for the item's duration instead. A start is stamped the moment the slot's
timer returns, then the station yields once before reporting it: thousands of stations share
one loop here, and each must read the clock at its own slot before any of them spends time
on its report, as separate machines would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from agents.clock import sleep_until
from agents.decode import SAMPLE_RATE
from agents.outputs import Backend, playback_name
from agents.playback import Playback
from agents.player import Player
from agents.reporter import Reporter
from agents.simulate.backlog import Backlog
from agents.simulate.stats import Stats
from wardcast.protocol import Event, EventType, PlanItem, utcnow


class TimedPlayback(Playback):
    """A playback of known duration into a sink, paced by the clock alone."""

    def __init__(self, *, duration_ms: int, backend: Backend, name: str) -> None:
        super().__init__([], backend=backend, name=name)
        self._duration_s = duration_ms / 1000

    async def prepare(self, *, open_sink: bool = True) -> None:
        """Nothing to decode; open the sink unless told not to."""
        if open_sink:
            await self._open_sink()

    async def run(self, at: datetime, *, on_started: Callable[[datetime], None],
                  on_progress: Callable[[int], None] = lambda position_ms: None) -> None:
        """Start at instant at (or now), report the start, then take the item's duration."""
        sink = self._sink or await self._open_sink()
        await sleep_until(at)
        started, origin = utcnow(), time.monotonic()
        sink.start(started)
        self.progress.started_at = started
        try:
            await asyncio.sleep(0)  # let every station due now stamp its start first
            on_started(started)
            await asyncio.sleep(max(0.0, origin + self._duration_s - time.monotonic()))
        finally:
            played = min(time.monotonic() - origin, self._duration_s)
            self.progress.samples = round(played * SAMPLE_RATE)

    async def close(self) -> None:
        """Close the sink."""
        sink, self._sink = self._sink, None
        if sink is not None:
            await sink.close()


class SimPlayer(Player):
    """The agent's Player, with timed playbacks and start errors counted."""

    stats: Stats

    async def _prepared(self, item: PlanItem, path: Path, *, open_sink: bool
                        ) -> Playback | None:
        playback = TimedPlayback(duration_ms=item.duration_ms, backend=self._backend,
                                 name=playback_name(item.playback_id))
        await playback.prepare(open_sink=open_sink)
        return playback

    def _started(self, item: PlanItem, at: datetime) -> None:
        self.stats.start_error((at - item.scheduled_at).total_seconds() * 1000)
        super()._started(item, at)


class SimReporter(Reporter):
    """The agent's Reporter, counting what it emits and publishing from the backlog."""

    stats: Stats
    backlog: Backlog

    def emit(self, playback_id: int, type_: EventType, *, at: datetime | None = None,
             position_ms: int | None = None, reason: str | None = None,
             together: Callable[[], object] = lambda: None) -> Event:
        self.stats.events[type_.value] += 1
        return super().emit(playback_id, type_, at=at, position_ms=position_ms,
                            reason=reason, together=together)

    def _later(self, callback: Callable[[], object]) -> None:
        # a station's reports wait in the backlog, so those made meanwhile go out together
        self.backlog.later(callback)
