"""The agent's MQTT session, and the events it carries until the scheduler confirms them.

One persistent paho session, reconnecting with backoff, on the station's topics and the
urgent topics of its groups. paho runs its network loop on its own thread (``Threaded``);
every callback only hands its news to the asyncio loop, where the handlers own all state.
The simulator drives many sessions from one loop instead (simulate/hub.py): the ``Driver``.
paho resends unacknowledged QoS 1 publishes after a reconnect; delivery of events does not
rest on that: the reporter republishes them until the scheduler confirms them.
Each event is written to the store's event log first; it stays "unconfirmed" (the outbox)
until the scheduler names it in an ``Ack``, which it sends only after committing the event.
The broker's PUBACK only records when it was last published: a broker can still lose it
(Mosquitto persists only every ``autosave_interval``, and its queues can overflow). So every
unconfirmed event is published again on each (re)connect, and, while connected, again when
its last PUBACK is older than ``resend_after_s``; the scheduler takes a duplicate as one.

Events made in one turn of the loop (``accepted`` and ``downloaded`` of a plan whose media
is cached, ``finished`` and the next ``started``) go out together in one message, and an
outbox sent again after a reconnect in batches of up to 100 (protocol.EventBatch): after
hours offline a few messages, not thousands, each with its own PUBACK and ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import sys
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from agents.config import Settings
from agents.fetch import Clock
from agents.store import Store
from wardcast.protocol import (
    AGENT_SUBSCRIBES,
    QOS,
    RECONNECT_MAX_S,
    Ack,
    Channel,
    Event,
    EventType,
    PlanItem,
    Status,
    batches,
    encode,
    encode_event_batch,
    station_topic,
    utcnow,
)

log = logging.getLogger(__name__)

REPORT_LATE_MS = 100  # a start later than this says so in its event
KEEPALIVE_S = 30
RECONNECT_MIN_S = 1


Later = Callable[[Callable[[], object]], None]  # runs a callback after the work due now


def soon(callback: Callable[[], object]) -> None:
    """Run callback at the end of this turn of the loop (now, outside a loop)."""
    try:
        asyncio.get_running_loop().call_soon(callback)
    except RuntimeError:
        callback()


class LinkHandlers(Protocol):
    """What the link reports, always on the asyncio loop's thread."""

    def connected(self) -> None: ...
    def disconnected(self) -> None: ...
    def message(self, channel: Channel, payload: bytes) -> None: ...
    def urgent(self, topic: str, payload: bytes) -> None: ...
    def published(self, mid: int) -> None: ...


class Link(Protocol):
    """What the station needs of its MQTT session."""

    @property
    def connected(self) -> bool: ...
    def start(self, handlers: LinkHandlers) -> None: ...
    def subscribe(self) -> None: ...
    def follow(self, topics: set[str]) -> None: ...
    def publish(self, channel: Channel, payload: bytes, *, retain: bool = False
                ) -> mqtt.MQTTMessageInfo: ...
    async def stop(self, last_words: bytes, *, wait_s: float = 2.0) -> None: ...


class Driver(Protocol):
    """Runs a paho client's network I/O and brings its callbacks to the asyncio loop."""

    def start(self, client: mqtt.Client) -> None: ...
    def hand_over(self, callback: Callable[..., None], *args: Any) -> None: ...
    async def stop(self, client: mqtt.Client, last_words: mqtt.MQTTMessageInfo | None,
                   wait_s: float) -> None: ...


class Threaded:
    """paho's own network thread, with its reconnect; callbacks go to the loop."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()

    def start(self, client: mqtt.Client) -> None:
        """Start paho's thread; it connects, and reconnects until stopped."""
        client.loop_start()

    def hand_over(self, callback: Callable[..., None], *args: Any) -> None:
        """Run callback on the loop's thread."""
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop closed during shutdown
            pass

    async def stop(self, client: mqtt.Client, last_words: mqtt.MQTTMessageInfo | None,
                   wait_s: float) -> None:
        """Wait briefly for the last words to be taken, disconnect, end the thread."""
        if last_words is not None:
            await asyncio.to_thread(_wait_published, last_words, wait_s)
        client.disconnect()
        await asyncio.to_thread(client.loop_stop)


class MqttLink:
    """A station's MQTT session: client id and username are the station id."""

    _handlers: LinkHandlers  # given by start(), before any callback can come

    def __init__(self, settings: Settings, *, boot_id: str, driver: Driver | None = None
                 ) -> None:
        self._settings = settings
        self._driver = driver or Threaded()
        self._topics = {station_topic(settings.station, c): c for c in Channel}
        self._followed: set[str] = set()  # group and fleet urgent topics
        self.connected = False
        self._stopping = False
        self._last_failure = ""  # paho's thread only: to log each new connect failure once
        self._client = self._make_client(boot_id)

    def _make_client(self, boot_id: str) -> mqtt.Client:
        station = self._settings.station
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=station,
                             clean_session=False, protocol=mqtt.MQTTv311)
        client.username_pw_set(station, self._settings.token)
        will = encode(Status(state="offline", boot_id=boot_id))
        client.will_set(self.topic(Channel.STATUS), will, qos=QOS, retain=True)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        if self._settings.mqtt_tls:
            # Verifies the chain (against --ca-file, else the system store) and the host name.
            client.tls_set_context(self._settings.ssl_context())
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        return client

    def topic(self, channel: Channel) -> str:
        """Return this station's topic for a channel."""
        return station_topic(self._settings.station, channel)

    def start(self, handlers: LinkHandlers) -> None:
        """Start connecting in the background, retrying until it succeeds."""
        self._handlers = handlers
        log.info("connecting to %s as %s", self._settings.mqtt_url, self._settings.station)
        self._client.connect_async(self._settings.mqtt_host, self._settings.mqtt_port,
                                   keepalive=KEEPALIVE_S)
        self._driver.start(self._client)

    def subscribe(self) -> None:
        """Subscribe to the channels the agent listens to, and the urgent topics it follows."""
        self._client.subscribe([(self.topic(c), QOS) for c in AGENT_SUBSCRIBES]
                               + [(topic, QOS) for topic in sorted(self._followed)])

    def follow(self, topics: set[str]) -> None:
        """Read these urgent topics from now on, and no others (the same again: ask again)."""
        added, dropped = topics - self._followed or topics, self._followed - topics
        self._followed = set(topics)
        if self.connected and added:
            self._client.subscribe([(topic, QOS) for topic in sorted(added)])
        if self.connected and dropped:
            self._client.unsubscribe(sorted(dropped))

    def publish(self, channel: Channel, payload: bytes, *, retain: bool = False
                ) -> mqtt.MQTTMessageInfo:
        """Publish at QoS 1; paho queues it while disconnected."""
        return self._client.publish(self.topic(channel), payload, qos=QOS, retain=retain)

    async def stop(self, last_words: bytes, *, wait_s: float = 2.0) -> None:
        """Publish the offline status, wait briefly for it, then disconnect."""
        self._stopping = True
        info = self.publish(Channel.STATUS, last_words, retain=True) if self.connected else None
        await self._driver.stop(self._client, info, wait_s)

    # --- paho's callbacks: hand everything to the loop ---------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
                    reason: ReasonCode, properties: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection (%s); check station id and token", reason)
            return
        self._last_failure = ""
        self._driver.hand_over(self._connected)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        # paho calls this inside its `except OSError`, and keeps the error to itself.
        error = sys.exc_info()[1]
        text = str(error) if error else "unknown error"
        if text == self._last_failure:
            return
        self._last_failure = text
        if isinstance(error, ssl.SSLCertVerificationError):
            log.error("TLS: the broker %s failed certificate verification (%s); check "
                      "--ca-file and that the broker's certificate names this host",
                      self._settings.mqtt_url, text)
        elif isinstance(error, ssl.SSLError):
            log.error("TLS with the broker %s failed: %s", self._settings.mqtt_url, text)
        else:
            log.warning("cannot connect to the broker %s: %s; retrying",
                        self._settings.mqtt_url, text)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags,
                       reason: ReasonCode, properties: Any) -> None:
        self._driver.hand_over(self._disconnected, str(reason))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage
                    ) -> None:
        channel = self._topics.get(message.topic)
        if channel is not None:
            self._driver.hand_over(self._handlers.message, channel, bytes(message.payload))
        elif message.topic in self._followed:
            self._driver.hand_over(self._handlers.urgent, message.topic, bytes(message.payload))
        else:
            log.warning("message on unexpected topic %s dropped", message.topic)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode,
                    properties: Any) -> None:
        self._driver.hand_over(self._handlers.published, mid)

    # --- the loop's thread ------------------------------------------------------------

    def _connected(self) -> None:
        log.info("connected to the broker")
        self.connected = True
        self._handlers.connected()

    def _disconnected(self, reason: str) -> None:
        if self.connected and not self._stopping:
            log.warning("disconnected from the broker (%s); reconnecting", reason)
        self.connected = False
        self._handlers.disconnected()


def _wait_published(info: mqtt.MQTTMessageInfo, timeout: float) -> None:
    """Block until paho has the broker's acknowledgement, or give up after timeout."""
    try:
        info.wait_for_publish(timeout)
    except (ValueError, RuntimeError) as exc:
        log.warning("offline status not confirmed: %s", exc)


class Reporter:
    """Logs events durably, publishes them until confirmed; publishes command results."""

    def __init__(self, *, store: Store, link: Link, clock: Clock, boot_id: str,
                 resend_after_s: float, later: Later | None = None) -> None:
        self._store = store
        self._later = later or soon
        self._link = link
        self._clock = clock
        self._boot_id = boot_id
        self._resend_after = timedelta(seconds=resend_after_s)
        self._in_flight: dict[int, list[str]] = {}  # paho mid -> event ids, until its PUBACK
        self._waiting: list[tuple[str, bytes]] = []  # made this turn, published at its end
        self._results: list[bytes] = []  # command results that wait for a connection
        self._all_confirmed = asyncio.Event()  # set when an ack leaves nothing unconfirmed

    def emit(self, playback_id: int, type_: EventType, *, at: datetime | None = None,
             position_ms: int | None = None, reason: str | None = None,
             together: Callable[[], object] = lambda: None) -> Event:
        """Log an event durably, then publish it if connected (else on the next connect).

        ``together`` is the store change the event reports (a playback started, ended …);
        both are committed at once, so a crash never leaves one without the other.
        """
        event = Event.about(playback_id, event_id=uuid.uuid4().hex, type=type_,
                            at=at or utcnow(), clock_offset_ms=self._clock.offset_ms,
                            clock_uncertainty_ms=self._clock.uncertainty_ms,
                            boot_id=self._boot_id, position_ms=position_ms, reason=reason)
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

    def recover(self) -> None:
        """Report playbacks a previous run started but never ended, at their saved position."""
        for playback_id, position_ms in self._store.started_unfinished():
            self.ended(playback_id, EventType.INTERRUPTED, position_ms=position_ms,
                       reason="agent_restarted")

    def started(self, item: PlanItem, at: datetime) -> None:
        """Record and report the instant an item's first sample went out."""
        notes = []
        late = at - item.scheduled_at
        if late > timedelta(milliseconds=REPORT_LATE_MS):
            notes.append(f"late={late // timedelta(milliseconds=1)}ms")
        if self._clock.off:
            notes.append(f"clock_offset={self._clock.offset_ms}ms")
        self.emit(item.playback_id, EventType.STARTED, at=at, reason="; ".join(notes) or None,
                  together=lambda: self._store.mark_started(item.playback_id))

    def ended(self, playback_id: int, kind: EventType, *, position_ms: int | None = None,
              reason: str | None = None) -> None:
        """Make a playback final locally and report it."""
        self.emit(playback_id, kind, position_ms=position_ms, reason=reason,
                  together=lambda: self._store.mark_final(playback_id, kind.value))

    def answer(self, result: bytes) -> None:
        """Publish a command's result now if connected, else on the next connect."""
        if self._link.connected:
            self._link.publish(Channel.COMMAND_RESULT, result)
        else:
            self._results.append(result)

    def resend_all(self) -> None:
        """Publish every unconfirmed event, oldest first, then waiting command results."""
        unconfirmed = self._store.unconfirmed()
        if unconfirmed:
            log.info("publishing %d unconfirmed event(s)", len(unconfirmed))
        self._send(unconfirmed)
        results, self._results = self._results, []
        for result in results:
            self.answer(result)

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
