"""Playback events, confirmed end to end.

Each event is written to the store's event log first; it stays "unconfirmed" (the outbox)
until the scheduler names it in an ``Ack``, which it sends only after committing the event.
The broker's PUBACK only records when it was last published: a broker can still lose it
(Mosquitto persists only every ``autosave_interval``, and its queues can overflow). So every
unconfirmed event is published again on each (re)connect, and, while connected, again when
its last PUBACK is older than ``resend_after_s``. The scheduler ingests events idempotently,
so a duplicate costs nothing.

Events made in one turn of the loop (``accepted`` and ``downloaded`` of a plan whose media is
cached, ``finished`` and the next item's ``started``) go out together in one message, and an
outbox published again after a reconnect goes in batches of up to 100
(``wardcast.protocol.EventBatch``): after hours offline that is a few messages, not
thousands, each with its own PUBACK and ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from agents.clock import Clock
from agents.link import Link
from agents.store import Store
from wardcast.protocol import (
    Ack,
    Channel,
    Event,
    EventType,
    batches,
    encode,
    encode_event_batch,
    utcnow,
)

log = logging.getLogger(__name__)


class Reporter:
    """Builds events, logs them durably and publishes them until the scheduler confirms."""

    def __init__(self, *, store: Store, link: Link, clock: Clock, boot_id: str,
                 resend_after_s: float) -> None:
        self._store = store
        self._link = link
        self._clock = clock
        self._boot_id = boot_id
        self._resend_after = timedelta(seconds=resend_after_s)
        self._in_flight: dict[int, list[str]] = {}  # paho mid -> event ids, until its PUBACK
        self._waiting: list[tuple[str, bytes]] = []  # made this turn, published at its end
        self._all_confirmed = asyncio.Event()  # set when an ack leaves nothing unconfirmed

    def emit(self, playback_id: int, type_: EventType, *, at: datetime | None = None,
             position_ms: int | None = None, reason: str | None = None,
             together: Callable[[], object] = lambda: None) -> Event:
        """Log an event durably, then publish it if connected (else on the next connect).

        ``together`` is the store change the event reports (a playback started, ended …);
        both are committed at once, so a crash never leaves one without the other.
        """
        event = Event(event_id=uuid.uuid4().hex, playback_id=playback_id, type=type_,
                      at=at or utcnow(), clock_offset_ms=self._clock.offset_ms,
                      clock_uncertainty_ms=self._clock.uncertainty_ms, boot_id=self._boot_id,
                      position_ms=position_ms, reason=reason)
        payload = encode(event)
        with self._store.transaction():
            together()
            self._store.add_event(event, payload)
        log.info("event %s playback=%d%s", type_.value, playback_id,
                 f" ({reason})" if reason else "")
        if self._link.connected:
            if not self._waiting:
                self._later(self._flush)
            self._waiting.append((event.event_id, payload))
        return event

    def resend_all(self) -> None:
        """Publish every unconfirmed event, oldest first (on each (re)connect)."""
        unconfirmed = self._store.unconfirmed()
        if unconfirmed:
            log.info("publishing %d unconfirmed event(s)", len(unconfirmed))
        self._send(unconfirmed)

    def published(self, mid: int) -> None:
        """Record the broker's PUBACK of an event (it is not confirmed yet)."""
        for event_id in self._in_flight.pop(mid, ()):
            self._store.mark_published(event_id)

    def acked(self, ack: Ack) -> None:
        """Confirm the events the scheduler committed; ids we never sent are ignored."""
        confirmed = self._store.confirm(ack.event_ids)
        log.debug("scheduler confirmed %d of %d acked event(s)", confirmed, len(ack.event_ids))
        done = set(ack.event_ids)
        in_flight = {m: [e for e in ids if e not in done] for m, ids in self._in_flight.items()}
        self._in_flight = {m: ids for m, ids in in_flight.items() if ids}
        if confirmed and not self._store.unconfirmed_count():
            self._all_confirmed.set()

    async def run(self) -> None:
        """Every resend_after_s, republish events the broker took that long ago, unconfirmed."""
        while True:
            await asyncio.sleep(self._resend_after.total_seconds())
            if not self._link.connected:
                continue  # the next connect publishes them all
            stale = self._store.published_before(utcnow() - self._resend_after)
            if stale:
                log.info("re-publishing %d event(s) the scheduler has not confirmed",
                         len(stale))
            self._send(stale)

    async def drain(self, within_s: float) -> bool:
        """Wait, while connected, until the scheduler confirmed every event, at most within_s."""
        if self._store.unconfirmed_count() and self._link.connected:
            self._all_confirmed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_confirmed.wait(), within_s)
        if left := self._store.unconfirmed_count():
            log.warning("%d unconfirmed event(s) kept in the outbox for next time", left)
        return left == 0

    def _later(self, callback: Callable[[], object]) -> None:
        """Run callback at the end of this turn of the loop (now, outside a loop)."""
        try:
            asyncio.get_running_loop().call_soon(callback)
        except RuntimeError:
            callback()

    def _flush(self) -> None:
        """Publish the events made since the last flush."""
        waiting, self._waiting = self._waiting, []
        if self._link.connected:  # else they wait in the outbox for the next connect
            self._send(waiting)

    def _send(self, events: Sequence[tuple[str, bytes]]) -> None:
        """Publish (event id, payload) pairs, oldest first, as few messages as fit."""
        for batch in batches(events):
            info = self._link.publish(Channel.EVENTS,
                                      encode_event_batch([payload for _, payload in batch]))
            self._in_flight[info.mid] = [event_id for event_id, _ in batch]
