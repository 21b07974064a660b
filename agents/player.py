"""The timer: plays the pending plan one item at a time, each at its slot.

Items never overlap. When the previous item runs past the next slot, the next one starts as
soon as the previous ends if its start window is still open, and is skipped ("late")
otherwise; the same rule covers slots missed while the agent was down. The window closes
``late_grace_s`` after the slot, or at the item's ``play_until`` when it has one (an
emergency: an agent that comes online during its validity plays it at once). The decoder
starts ``preroll_s`` before the slot (a relay's stream earlier) so the first samples are
ready at the instant; the decoder of the item due after the one playing starts while it
plays, so items back to back (a programme with no gap) follow without a start-up delay.

Only an emergency interrupts: a ``preempt`` item cuts in at its slot (at once if the slot has
passed and its window is open). Its decoder starts while the other item still plays, so the
cut costs one sink closed and one opened; the item it cut ends ``interrupted``. A preempt item
does not cut a preempt item of the same bulletin: the repeats of one broadcast play in order.
A new plan never interrupts the item playing: it was started, so it is finished (or cut).
A test tone plays only when nothing is playing or due, and gives way to any item at its slot.
While an item plays, its position is saved every second: after a crash or power cut the
restarted agent reports it ``interrupted`` at the last saved position, never replaying it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from agents.config import Settings
from agents.fetch import Media, seconds_until
from agents.link import Reporter
from agents.output import (
    AGENT_STOPPED,
    OnAir,
    Output,
    Playback,
    PlaybackError,
    ToneRequest,
    perform_tone,
)
from agents.relay import due_items, lead_s, media_for, playable
from agents.store import Store
from wardcast.protocol import EventType, PlanItem, utcnow

log = logging.getLogger(__name__)


class Player:
    """Owns the timer loop and the output, and reports every playback's start and end."""

    def __init__(self, *, settings: Settings, store: Store, cache: Media, output: Output,
                 reporter: Reporter, on_change: Callable[[], None] = lambda: None) -> None:
        self._settings = settings
        self._store = store
        self._cache = cache
        self._output = output
        self._reporter = reporter
        self._on_change = on_change
        # done once wake() is called; a wait watches it beside the item's task (see _wait)
        self._woken: asyncio.Future[None] | None = None
        self._on_air: OnAir | None = None
        self._cutter: PlanItem | None = None  # being prepared to cut in
        # the item due after the one on air, its decoder already started so that it follows
        # without the decoder's start-up delay (a programme's items with no gap between them)
        self._follower: tuple[PlanItem, Playback] | None = None
        self._tones: list[ToneRequest] = []

    @property
    def now_playing(self) -> int | None:
        """The playback id of the plan item holding the output, if any."""
        on_air = self._on_air
        return on_air.item.playback_id if on_air and on_air.item else None

    def wake(self) -> None:
        """Look at the plan again (it changed, or media arrived)."""
        if not (woken := self._wake_up()).done():
            woken.set_result(None)

    def media_in_use(self) -> set[str]:
        """Return the sha256 of the media playing now or about to cut in, if any."""
        items = (self._on_air.item if self._on_air else None, self._cutter,
                 self._follower[0] if self._follower else None)
        return {media[0] for item in items if item and (media := item.wanted_media)}

    def stop(self, reason: str) -> str | None:
        """Stop what is playing at once; return what it was, or None when nothing played."""
        on_air = self._on_air
        if on_air is None or on_air.task.done() or on_air.playback.progress.started_at is None:
            return None
        on_air.stop_reason = reason
        on_air.task.cancel()
        return on_air.describe()

    def play_tone(self, request: ToneRequest) -> None:
        """Play a test tone now if the output is free (the answer says whether it played)."""
        self._tones.append(request)
        self.wake()

    async def run(self) -> None:
        """Play the plan forever."""
        try:
            while True:
                self._woken = None
                try:
                    await self._step()
                except Exception:  # a bug must not stop the station for good
                    log.exception("the player failed unexpectedly; looking again in a second")
                    await asyncio.sleep(1)
        finally:
            await self._halt()

    async def _step(self) -> None:
        """Do the next thing: watch what plays, or start, skip or wait for an item."""
        self._take_tones()
        if self._follower is not None and (
                not self._store.is_pending(self._follower[0].playback_id)
                or self._too_late(self._follower[0])):
            await self._take_follower(None)  # cancelled, played elsewhere or missed its window
        if self._on_air is not None:
            if self._on_air.task.done():
                await self._sign_off()
            else:
                await self._guard(self._on_air)
            return
        pending = self._store.pending()
        for item in self._due(pending):
            if self._too_late(item):
                self._reporter.ended(item.playback_id, EventType.SKIPPED, reason="late")
                return
            if playable(self._cache, item):
                await self._attempt(item)
                return
            if item.play_until is None:
                await self._await_media(item)
                return
            # an item with a window waits for its media without holding up the others
        await self._woken_within(self._next_look(pending))

    # --- the rules ------------------------------------------------------------------------

    def _due(self, pending: list[PlanItem]) -> list[PlanItem]:
        """Return the items whose decoder should be running by now."""
        return due_items(pending, self._settings)

    def _window_end(self, item: PlanItem) -> datetime:
        if item.play_until is not None:
            return item.play_until
        return item.scheduled_at + timedelta(seconds=self._settings.late_grace_s)

    def _too_late(self, item: PlanItem) -> bool:
        return utcnow() > self._window_end(item)

    def _next_look(self, pending: list[PlanItem]) -> float | None:
        """Return when the plan needs a look without a wake-up: a preroll or a window's end."""
        times = []
        for item in pending:
            lead = seconds_until(item.scheduled_at) - lead_s(item, self._settings)
            times.append(lead if lead > 0 else seconds_until(self._window_end(item)))
        return min(times, default=None)

    def _cutter_for(self, on_air: OnAir) -> PlanItem | None:
        """Return the first pending item that may cut in on what holds the output."""
        playing = on_air.item
        for item in self._store.pending():
            if playing is not None and (
                    item.playback_id == playing.playback_id or not item.preempt
                    or (playing.preempt and playing.bulletin_id == item.bulletin_id)):
                continue  # a tone gives way to anything; an item only to another emergency
            if not self._too_late(item) and playable(self._cache, item):
                return item
        return None

    def _busy(self) -> str | None:
        """Say why a test tone may not start now, if it may not."""
        if self._on_air is not None:
            return f"busy: {self._on_air.describe()} is playing"
        due = [item for item in self._due(self._store.pending()) if not self._too_late(item)]
        return f"busy: playback {due[0].playback_id} is due" if due else None

    # --- plan items -------------------------------------------------------------------------

    async def _attempt(self, item: PlanItem) -> None:
        """Prepare a due item whose media is here and put it on air (it waits for its slot)."""
        playback = await self._take_follower(item)
        path = media_for(self._cache, item)
        if path is None and item.relay is None:
            if playback is not None:
                await playback.close()
            return
        if playback is None:
            playback = await self._prepared(item, path, open_sink=True)
        if playback is None:
            return
        if not self._store.is_pending(item.playback_id):
            await playback.close()
            return
        self._go_on_air(OnAir(playback, item=item))

    async def _prepare_follower(self, on_air: OnAir) -> float | None:
        """Start the decoder of the item due next, once it is due; return when to look again."""
        if self._follower is not None or on_air.item is None:
            return None
        for item in self._store.pending():
            if item.playback_id == on_air.item.playback_id or self._too_late(item):
                continue
            lead = seconds_until(item.scheduled_at) - lead_s(item, self._settings)
            if lead > 0:
                return lead
            path = media_for(self._cache, item)
            if path is None and item.relay is None:
                return None
            playback = self._output.item(item, path)
            try:
                await playback.prepare(open_sink=False)
            except PlaybackError:
                await playback.close()  # _attempt tries again, and reports it if it fails
                return None
            self._follower = (item, playback)
            return None
        return None

    async def _take_follower(self, item: PlanItem | None) -> Playback | None:
        """Return the prepared decoder if it is item's; close it otherwise."""
        follower, self._follower = self._follower, None
        if follower is None:
            return None
        if item is not None and follower[0].playback_id == item.playback_id:
            return follower[1]
        await follower[1].close()
        return None

    async def _await_media(self, item: PlanItem) -> None:
        """Wait for an item's media until its slot, then fail it."""
        if await self._woken_within(seconds_until(item.scheduled_at)):
            return  # look again: media arrived or the plan changed
        self._reporter.ended(item.playback_id, EventType.FAILED, reason="media_unavailable")

    async def _prepared(self, item: PlanItem, path: Path | None, *, open_sink: bool
                        ) -> Playback | None:
        """Start an item's decoder; fail the item (and return None) when it cannot decode."""
        playback = self._output.item(item, path)
        try:
            await playback.prepare(open_sink=open_sink)
        except PlaybackError as exc:
            await playback.close()
            self._reporter.ended(item.playback_id, EventType.FAILED, reason=str(exc))
            return None
        except BaseException:
            await playback.close()
            raise
        return playback

    async def _perform(self, on_air: OnAir) -> None:
        """Play one item at its slot and report how it ended."""
        item, progress = on_air.item, on_air.playback.progress
        assert item is not None
        end = partial(self._reporter.ended, item.playback_id)
        try:
            try:
                await on_air.playback.run(
                    item.scheduled_at, on_started=lambda at: self._started(item, at),
                    on_progress=lambda ms: self._store.save_position(item.playback_id, ms))
            finally:
                await on_air.playback.close()
        except PlaybackError as exc:
            end(EventType.FAILED, position_ms=progress.position_ms, reason=str(exc))
        except asyncio.CancelledError:
            if progress.started_at is not None:
                end(EventType.INTERRUPTED, position_ms=progress.position_ms,
                    reason=on_air.stop_reason or AGENT_STOPPED)
            raise
        except Exception as exc:
            log.exception("playback %d failed unexpectedly", item.playback_id)
            end(EventType.FAILED, reason=f"agent_error: {exc}")
        else:  # a relay may have ended otherwise: its stream lost, or never there
            kind, reason = progress.ending or (EventType.FINISHED, None)
            end(kind, position_ms=progress.position_ms, reason=reason)

    # --- what holds the output ------------------------------------------------------------

    def _go_on_air(self, on_air: OnAir) -> None:
        self._on_air = on_air
        on_air.task = asyncio.create_task(
            self._perform(on_air) if on_air.item is not None
            else perform_tone(on_air, on_started=lambda at: self._on_change()))

    async def _guard(self, on_air: OnAir) -> None:
        """Wait while on_air plays, until it ends, the plan changes or something cuts in."""
        cutter = self._cutter_for(on_air)
        if cutter is None:
            await self._wait(on_air.task, await self._prepare_follower(on_air))
            return
        lead = seconds_until(cutter.scheduled_at) - lead_s(cutter, self._settings)
        if lead > 0:
            await self._wait(on_air.task, lead)
            return
        await self._cut_in(on_air, cutter)

    async def _cut_in(self, on_air: OnAir, item: PlanItem) -> None:
        """Start item's decoder now; at its slot take on_air off and put item on air."""
        path = media_for(self._cache, item)
        if path is None and item.relay is None:
            return
        self._cutter = item
        try:
            playback = await self._prepared(item, path, open_sink=False)
            if playback is None:
                return
            try:
                await self._wait(on_air.task, seconds_until(item.scheduled_at), wake=False)
                if not self._store.is_pending(item.playback_id):
                    await playback.close()
                    return
                reason = (f"preempted by playback {item.playback_id}" if on_air.item
                          else f"playback {item.playback_id} was due")
                await self._take_off(on_air, reason)
            except BaseException:
                await playback.close()
                raise
        finally:
            self._cutter = None
        self._go_on_air(OnAir(playback, item=item))

    async def _take_off(self, on_air: OnAir, reason: str | None) -> None:
        """Stop on_air now (if it still plays) and wait until it has reported."""
        if not on_air.task.done():
            on_air.stop_reason = reason
            on_air.task.cancel()
            await asyncio.wait({on_air.task})
        await self._sign_off()

    async def _sign_off(self) -> None:
        """Free the output after what held it ended."""
        on_air, self._on_air = self._on_air, None
        if on_air is None:
            return
        await on_air.playback.close()  # again: a task cancelled before it ran closed nothing
        if on_air.tone is not None:
            on_air.tone.answer(False, "stopped before it started: "
                               f"{on_air.stop_reason or AGENT_STOPPED}")
        if not on_air.task.cancelled() and (error := on_air.task.exception()):
            log.error("%s ended with %r", on_air.describe(), error)
        self._on_change()

    async def _halt(self) -> None:
        """On shutdown: stop what plays (it reports ``agent_stopped``), refuse queued tones."""
        for request in self._tones:
            request.answer(False, "the agent is stopping")
        self._tones.clear()
        await self._take_follower(None)
        if self._on_air is not None:
            await self._take_off(self._on_air, None)

    # --- test tones -----------------------------------------------------------------------

    def _take_tones(self) -> None:
        """Start a requested tone if the output is free; refuse the others."""
        while self._tones:
            request = self._tones.pop(0)
            busy = self._busy()
            if busy:
                request.answer(False, busy)
                continue
            playback = self._output.tone(request.command_id, hz=request.hz,
                                         seconds=request.seconds)
            self._go_on_air(OnAir(playback, tone=request))

    # --- waiting ---------------------------------------------------------------------------

    def _wake_up(self) -> asyncio.Future[None]:
        """The future wake() sets. A future, not an asyncio.Event: asyncio.wait watches it
        beside a task as it is, where an Event needs a task of its own for every wait (at 500
        stations on one loop, the simulator's, those tasks made each burst of starts later)."""
        if self._woken is None:
            self._woken = asyncio.get_running_loop().create_future()
        return self._woken

    async def _woken_within(self, seconds: float | None) -> bool:
        """Wait up to seconds (forever when None); return True when woken early."""
        woken, _ = await asyncio.wait({self._wake_up()}, timeout=_timeout(seconds))
        return bool(woken)

    async def _wait(self, task: asyncio.Task[None], seconds: float | None, *,
                    wake: bool = True) -> None:
        """Wait until task ends, seconds pass, or (unless told not to) the player is woken."""
        watched: set[asyncio.Future[None]] = {task, self._wake_up()} if wake else {task}
        await asyncio.wait(watched, timeout=_timeout(seconds),
                           return_when=asyncio.FIRST_COMPLETED)

    def _started(self, item: PlanItem, at: datetime) -> None:
        self._reporter.started(item, at)
        self._on_change()


def _timeout(seconds: float | None) -> float | None:
    return None if seconds is None else max(seconds, 0)
