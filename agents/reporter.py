"""Playback events, confirmed end to end.

Each event is written to the store's event log first; it stays "unconfirmed" (the outbox)
until the scheduler names it in an ``Ack``, which it sends only after committing the event.
The broker's PUBACK only records when it was last published: a broker can still lose it
(Mosquitto persists only every ``autosave_interval``, and its queues can overflow). So every
unconfirmed event is published again on each (re)connect, and, while connected, again when
its last PUBACK is older than ``resend_after_s``. The scheduler ingests events idempotently,
so a duplicate costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from agents.clock import Clock
from agents.link import Link
from agents.store import Store
from wardcast.protocol import Ack, Channel, Event, EventType, encode, utcnow

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
        self._in_flight: dict[int, str] = {}  # paho mid -> event id, until its PUBACK
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
                      boot_id=self._boot_id, position_ms=position_ms, reason=reason)
        payload = encode(event)
        with self._store.transaction():
            together()
            self._store.add_event(event, payload)
        log.info("event %s playback=%d%s", type_.value, playback_id,
                 f" ({reason})" if reason else "")
        if self._link.connected:
            self._send(event.event_id, payload)
        return event

    def resend_all(self) -> None:
        """Publish every unconfirmed event, oldest first (on each (re)connect)."""
        unconfirmed = self._store.unconfirmed()
        if unconfirmed:
            log.info("publishing %d unconfirmed event(s)", len(unconfirmed))
        for event_id, payload in unconfirmed:
            self._send(event_id, payload)

    def published(self, mid: int) -> None:
        """Record the broker's PUBACK of an event (it is not confirmed yet)."""
        event_id = self._in_flight.pop(mid, None)
        if event_id is not None:
            self._store.mark_published(event_id)

    def acked(self, ack: Ack) -> None:
        """Confirm the events the scheduler committed; ids we never sent are ignored."""
        confirmed = self._store.confirm(ack.event_ids)
        log.debug("scheduler confirmed %d of %d acked event(s)", confirmed, len(ack.event_ids))
        done = set(ack.event_ids)
        self._in_flight = {m: e for m, e in self._in_flight.items() if e not in done}
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
            for event_id, payload in stale:
                self._send(event_id, payload)

    async def drain(self, within_s: float) -> bool:
        """Wait, while connected, until the scheduler confirmed every event, at most within_s."""
        if self._store.unconfirmed_count() and self._link.connected:
            self._all_confirmed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_confirmed.wait(), within_s)
        if left := self._store.unconfirmed_count():
            log.warning("%d unconfirmed event(s) kept in the outbox for next time", left)
        return left == 0

    def _send(self, event_id: str, payload: bytes) -> None:
        info = self._link.publish(Channel.EVENTS, payload)
        self._in_flight[info.mid] = event_id
