"""The dispatcher's own MQTT connection for what it sends: plans and acks, written inline.

This connection has no network thread. The dispatcher's thread writes each message as it
publishes it and reads the broker's PUBACKs between chunks of a push and whenever it is idle.
On the shared, threaded connection every publish from the dispatcher woke paho's network
thread through a socket pair, and the two threads handed the GIL to each other for every
message: several times the CPU of the same messages written inline (docs/benchmarks.md §2,
fourth round).

While the connection is down (or not yet confirmed by the broker) a plan is held here, the
latest one per topic — a plan replaces the one before it — and published once the broker has
accepted the connection, after what paho itself resends; so an older plan never lands after
a newer one, and an outage of any length holds one plan per station, no more. Acks (QoS 0)
are not held: an agent resends every event the scheduler has not confirmed.
"""

from __future__ import annotations

import logging
import select
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from scheduler.dispatch.client import BrokerLogin
from wardcast import protocol

log = logging.getLogger(__name__)

KEEPALIVE_S = 30
RETRY_S = (1.0, 15.0)  # first and longest wait between two connection attempts
CONNECT_TIMEOUT_S = 2.0  # TCP connect and TLS handshake: the worker waits this long at most
CONNECT_WAIT_S = 2.0  # how long opening the connection waits for the broker's CONNACK
FLUSH_S = 2.0  # how long a flush may block on a broker that does not read
ACCEPTED = (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN, mqtt.MQTT_ERR_CONN_LOST)  # kept


class Sender:
    """A publish-only connection, driven by the one thread that uses it (the dispatcher's)."""

    def __init__(self, login: BrokerLogin) -> None:
        self.login = login
        # No subscriptions and nothing to keep: a clean session. QoS 1 messages not yet
        # acknowledged by the broker are resent by paho after a reconnect.
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=protocol.sending_client_id(login.client_id),
                                  clean_session=True, protocol=mqtt.MQTTv311)
        login.present(self.client)
        self.client.connect_timeout = CONNECT_TIMEOUT_S
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(0)  # unlimited: a push goes out whole
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self._held: dict[str, tuple[bytes, bool]] = {}  # topic -> (payload, retain)
        self._retry_at = 0.0
        self._retry_s = RETRY_S[0]
        self._opened = False

    @property
    def connected(self) -> bool:
        return self.client.is_connected()

    @property
    def held(self) -> int:
        """Plans waiting for the connection (one per topic at most)."""
        return len(self._held)

    def open(self) -> None:
        """Connect, waiting a moment for the broker's answer; a failure is retried later."""
        self.client.connect_async(self.login.host, self.login.port, keepalive=KEEPALIVE_S)
        self._opened = True
        self._reconnect()
        deadline = time.monotonic() + CONNECT_WAIT_S
        while (self.client.socket() is not None and not self.connected
               and time.monotonic() < deadline):
            self.service(timeout=0.05, reconnect=False)

    def close(self) -> None:
        """Write what is queued, then disconnect."""
        if not self._opened:
            return
        self.flush()
        self._opened = False
        if self._held:
            log.warning("%d plan(s) not sent: the broker was away when the scheduler stopped "
                        "(each station asks for its plan when it connects)", len(self._held))
        self.client.disconnect()  # written at once: there is no network thread

    def publish(self, topic: str, payload: bytes, *, retain: bool = False,
                qos: int = protocol.QOS) -> None:
        """Write a message now if the socket takes it (else at the next service or flush);
        while the connection is down, hold a QoS 1 message (the latest per topic)."""
        if not self.connected or self._held:
            if qos > 0:
                self._held.pop(topic, None)  # the latest goes last
                self._held[topic] = (payload, retain)
            return
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in ACCEPTED:
            log.warning("publish to %s failed: %s", topic, mqtt.error_string(info.rc))

    def service(self, timeout: float = 0.0, *, reconnect: bool = True) -> None:
        """Read the broker's answers, write what waits, keep the connection alive; send what
        was held once the broker has taken the connection; and bring the connection back
        when it is down and its next attempt is due (unless reconnect is False)."""
        if not self._opened:
            return
        try:
            self._service(timeout, reconnect=reconnect)
        except Exception:  # never let the connection stop the worker that drives it
            log.exception("the sending connection to the broker failed")

    def flush(self) -> None:
        """Block until every queued message is written (at most FLUSH_S), then take in the
        PUBACKs that have come (and reconnect, if due: call it outside a transaction)."""
        deadline = time.monotonic() + FLUSH_S
        while (self.client.want_write() and self.client.socket() is not None
               and time.monotonic() < deadline):
            self.service(timeout=0.05, reconnect=False)
        if self.client.want_write() and self.client.socket() is not None:
            log.warning("the broker has not read the scheduler's messages for %.0f s", FLUSH_S)
        self.service()

    def _service(self, timeout: float, *, reconnect: bool) -> None:
        sock = self.client.socket()
        if sock is None:
            if reconnect:
                self._reconnect()
            return
        # TLS may hold decrypted bytes that select cannot see (paho's own loop checks too)
        pending = bool(getattr(sock, "pending", lambda: 0)())
        wants_write = self.client.want_write()
        try:
            readable, writable, _ = select.select(
                [sock], [sock] if wants_write else [], [], 0.0 if pending else timeout)
        except (OSError, ValueError):  # closed under us: paho sees it on its next read
            readable, writable = [sock], []
        if readable or pending:
            self.client.loop_read()
        if writable and self.client.socket() is not None:
            self.client.loop_write()
        if self.client.socket() is not None:
            self.client.loop_misc()
        if self._held and self.connected:
            self._release()

    def _release(self) -> None:
        """Publish the held plans, now that the broker has taken the connection (and paho
        has resent what it had in flight)."""
        held, self._held = self._held, {}
        for topic, (payload, retain) in held.items():
            self.publish(topic, payload, retain=retain)
        log.info("sent %d plan(s) held while the broker was away", len(held))

    def _reconnect(self) -> None:
        if time.monotonic() < self._retry_at:
            return
        try:
            self.client.reconnect()
        except (OSError, ValueError) as exc:
            log.debug("cannot connect the sending connection to the broker: %s", exc)
            self._back_off()

    def _back_off(self) -> None:
        """Try again after the current wait, and wait twice as long the time after."""
        self._retry_at = time.monotonic() + self._retry_s
        self._retry_s = min(self._retry_s * 2, RETRY_S[1])

    def _on_connect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any,
                    _props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the scheduler's sending connection: %s", reason)
            self._back_off()
            return
        self._retry_s = RETRY_S[0]
        log.info("sending connection to the broker is up")

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any,
                       _props: Any) -> None:
        if self._opened:
            log.warning("sending connection to the broker lost: %s", reason)
