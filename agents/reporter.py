"""Playback events through a durable outbox: stored first, deleted when the broker acks."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime

from agents.clock import Clock
from agents.link import Link
from agents.store import Store
from wardcast.protocol import Channel, Event, EventType, encode, utcnow

log = logging.getLogger(__name__)


class Reporter:
    """Builds events, keeps them in the outbox and publishes them in order."""

    def __init__(self, *, store: Store, link: Link, clock: Clock, boot_id: str) -> None:
        self._store = store
        self._link = link
        self._clock = clock
        self._boot_id = boot_id
        self._in_flight: dict[int, str] = {}  # paho mid -> event id
        self._drained = asyncio.Event()
        self._drained.set()

    def emit(self, playback_id: int, type_: EventType, *, at: datetime | None = None,
             position_ms: int | None = None, reason: str | None = None) -> Event:
        """Record an event durably, then publish it."""
        event = Event(event_id=uuid.uuid4().hex, playback_id=playback_id, type=type_,
                      at=at or utcnow(), clock_offset_ms=self._clock.offset_ms,
                      boot_id=self._boot_id, position_ms=position_ms, reason=reason)
        payload = encode(event)
        self._store.outbox_add(event.event_id, payload)
        log.info("event %s playback=%d%s", type_.value, playback_id,
                 f" ({reason})" if reason else "")
        self._send(event.event_id, payload)
        return event

    def replay(self) -> None:
        """Publish the events a previous run left unacknowledged, oldest first."""
        for event_id, payload in self._store.outbox():
            if event_id not in self._in_flight.values():
                self._send(event_id, payload)

    def published(self, mid: int) -> None:
        """Forget an event once the broker has acknowledged it."""
        event_id = self._in_flight.pop(mid, None)
        if event_id is not None:
            self._store.outbox_remove(event_id)
        if not self._in_flight:
            self._drained.set()

    async def drain(self, within_s: float) -> bool:
        """Wait until every published event is acknowledged, at most within_s seconds."""
        if not self._link.connected:
            return not self._in_flight
        try:
            await asyncio.wait_for(self._drained.wait(), within_s)
        except TimeoutError:
            log.warning("%d event(s) left in the outbox for next time", len(self._in_flight))
            return False
        return True

    def _send(self, event_id: str, payload: bytes) -> None:
        info = self._link.publish(Channel.EVENTS, payload)
        self._in_flight[info.mid] = event_id
        self._drained.clear()
