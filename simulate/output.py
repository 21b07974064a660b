"""An output that keeps real time without decoding.

The agent's Player decides what plays when (slots, late windows, preemption, skips,
reports); only the playbacks under it change: no ffmpeg per item (10,000 decoders would
measure ffmpeg), a sleep for the item's duration instead. A start is stamped the moment the
slot's timer returns, then the station yields once before reporting it: thousands of
stations share one loop here, and each must read the clock at its own slot before any of
them spends time on its report, as separate machines would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from agents.fetch import sleep_until
from agents.output import Playback, Progress
from media.decode import SAMPLE_RATE
from wardcast.protocol import PlanItem, utcnow


class TimedPlayback:
    """A playback of known duration, paced by the clock alone."""

    def __init__(self, *, duration_ms: int) -> None:
        self._duration_s = duration_ms / 1000
        self.progress = Progress()

    async def prepare(self, *, open_sink: bool = True) -> None:
        """Nothing to decode, nothing to open."""

    async def run(self, at: datetime, *, on_started: Callable[[datetime], None],
                  on_progress: Callable[[int], None] = lambda position_ms: None) -> None:
        """Start at instant at (or now), report the start, then take the item's duration."""
        await sleep_until(at)
        started, origin = utcnow(), time.monotonic()
        self.progress.started_at = started
        try:
            await asyncio.sleep(0)  # let every station due now stamp its start first
            on_started(started)
            await asyncio.sleep(max(0.0, origin + self._duration_s - time.monotonic()))
        finally:
            played = min(time.monotonic() - origin, self._duration_s)
            self.progress.samples = round(played * SAMPLE_RATE)

    async def close(self) -> None:
        """Nothing to close."""


class TimedOutput:
    """The Output of a simulated station: timed playbacks of items and tones."""

    def __init__(self) -> None:
        self.volume = 100.0  # set by the volume command; nothing to scale

    def item(self, item: PlanItem, path: Path | None) -> Playback:
        """Return a playback that takes the item's duration (a relay's too)."""
        return TimedPlayback(duration_ms=item.duration_ms)

    def tone(self, command_id: str, *, hz: float, seconds: float) -> Playback:
        """Return a playback that takes the tone's duration."""
        return TimedPlayback(duration_ms=round(seconds * 1000))
