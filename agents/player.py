"""The timer: plays the pending plan one item at a time, each at its slot.

Items never overlap. When the previous item runs past the next slot, the next one starts as
soon as the previous ends if its slot passed less than ``late_grace_s`` ago, and is skipped
("late") otherwise; the same rule covers slots missed while the agent was down. The decoder
starts ``preroll_s`` before the slot so the first samples are ready at the instant.
A new plan never interrupts the item playing: it was started, so it is finished.
While an item plays, its position is saved every second, so that after a crash or power cut
the restarted agent reports it ``interrupted`` at the last saved position (and never replays
it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from agents.cache import MediaCache
from agents.clock import Clock, seconds_until
from agents.config import Settings
from agents.outputs import Backend
from agents.playback import PlaybackError, Progress, play
from agents.reporter import Reporter
from agents.store import Store
from wardcast.protocol import EventType, PlanItem

log = logging.getLogger(__name__)

REPORT_LATE_MS = 100


class Player:
    """Owns the timer loop and reports every playback's start and end."""

    def __init__(self, *, settings: Settings, store: Store, cache: MediaCache,
                 backend: Backend, reporter: Reporter, clock: Clock,
                 on_change: Callable[[], None] = lambda: None) -> None:
        self._settings = settings
        self._store = store
        self._cache = cache
        self._backend = backend
        self._reporter = reporter
        self._clock = clock
        self._on_change = on_change
        self._wake = asyncio.Event()
        self.now_playing: int | None = None
        self._playing_media: str | None = None

    def wake(self) -> None:
        """Look at the plan again (it changed, or media arrived)."""
        self._wake.set()

    def media_in_use(self) -> set[str]:
        """Return the sha256 of the media playing now, if any."""
        return {self._playing_media} if self._playing_media else set()

    def recover(self) -> None:
        """Report playbacks a previous run started but never ended, at their saved position."""
        for playback_id, position_ms in self._store.started_unfinished():
            self._end(playback_id, EventType.INTERRUPTED, position_ms=position_ms,
                      reason="agent_restarted")

    async def run(self) -> None:
        """Play the plan forever."""
        while True:
            self._wake.clear()
            pending = self._store.pending()
            if not pending:
                await self._wake.wait()
                continue
            item = pending[0]
            lead = seconds_until(item.scheduled_at) - self._settings.preroll_s
            if lead > 0 and await self._woken_within(lead):
                continue
            try:
                await self._attempt(item)
            except Exception as exc:  # a bug must not stop the station for good
                log.exception("playback %d failed unexpectedly", item.playback_id)
                self._end(item.playback_id, EventType.FAILED, reason=f"agent_error: {exc}")

    async def _woken_within(self, seconds: float) -> bool:
        """Wait up to seconds; return True when woken early."""
        try:
            await asyncio.wait_for(self._wake.wait(), max(seconds, 0))
        except TimeoutError:
            return False
        return True

    async def _attempt(self, item: PlanItem) -> None:
        """Skip, fail or play one due item."""
        if -seconds_until(item.scheduled_at) > self._settings.late_grace_s:
            self._end(item.playback_id, EventType.SKIPPED, reason="late")
            return
        path = self._cache.use(item.sha256)
        if path is None:
            if await self._woken_within(seconds_until(item.scheduled_at)):
                return  # look again: media arrived or the plan changed
            self._end(item.playback_id, EventType.FAILED, reason="media_unavailable")
            return
        if self._store.is_pending(item.playback_id):
            await self._play(item, path)

    async def _play(self, item: PlanItem, path: Path) -> None:
        """Play one item and report how it ended."""
        progress = Progress()
        self.now_playing, self._playing_media = item.playback_id, item.sha256
        try:
            await play(path, backend=self._backend, playback_id=item.playback_id,
                       at=item.scheduled_at, progress=progress,
                       on_started=lambda at: self._started(item, at),
                       on_progress=lambda ms: self._store.save_position(item.playback_id, ms))
        except PlaybackError as exc:
            self._end(item.playback_id, EventType.FAILED, position_ms=progress.position_ms,
                      reason=str(exc))
        except asyncio.CancelledError:
            if progress.started_at is not None:
                self._end(item.playback_id, EventType.INTERRUPTED,
                          position_ms=progress.position_ms, reason="agent_stopped")
            raise
        else:
            self._end(item.playback_id, EventType.FINISHED, position_ms=progress.position_ms)
        finally:
            self.now_playing = self._playing_media = None
            self._on_change()

    def _started(self, item: PlanItem, at: datetime) -> None:
        """Record and report the instant the first sample went out."""
        self._reporter.emit(item.playback_id, EventType.STARTED, at=at,
                            reason=self._start_reason(item, at),
                            together=lambda: self._store.mark_started(item.playback_id))
        self._on_change()

    def _start_reason(self, item: PlanItem, at: datetime) -> str | None:
        """Explain a late start or an unreliable clock, if either applies."""
        notes = []
        late = at - item.scheduled_at
        if late > timedelta(milliseconds=REPORT_LATE_MS):
            notes.append(f"late={late // timedelta(milliseconds=1)}ms")
        if self._clock.off:
            notes.append(f"clock_offset={self._clock.offset_ms}ms")
        return "; ".join(notes) or None

    def _end(self, playback_id: int, kind: EventType, *, position_ms: int | None = None,
             reason: str | None = None) -> None:
        """Make a playback final locally and report it."""
        self._reporter.emit(playback_id, kind, position_ms=position_ms, reason=reason,
                            together=lambda: self._store.mark_final(playback_id, kind.value))
