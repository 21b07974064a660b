"""The scheduler's MQTT connection: a persistent session that acks only what is stored."""

from __future__ import annotations

import logging
import queue
import ssl
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from wardcast import protocol

log = logging.getLogger(__name__)

# QoS 1 messages paho lets out before their PUBACK (its default is 20). An emergency to
# 10,000 stations is 10,000 plans at once: with 100 in flight they left 100 per round trip
# to the broker, behind the same thread's event ingestion.
INFLIGHT = 20_000


@dataclass(frozen=True)
class Incoming:
    """A message handed from paho's thread to the ingestion worker."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    # replayed by the broker from its memory (a retained message, sent on subscribing), not
    # heard from the station now
    retained: bool = False


@dataclass(frozen=True)
class BrokerLogin:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool = False
    # With tls: the CA that signed the broker's certificate (None: WARDCAST_MQTT_CA_FILE,
    # else the system's trust store). Chain and host name are always verified.
    ca_file: Path | None = None
    # One per replica (wardcast.protocol.scheduler_client_id): the broker drops the older of
    # two connections that share a client id.
    client_id: str = protocol.SCHEDULER_CLIENT_ID
    # Several replicas: agent messages come through `$share/...` so each lands once.
    shared: bool = False

    def present(self, client: mqtt.Client) -> None:
        """Give a paho client this login's credentials and, with tls, its TLS context."""
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set_context(broker_ssl_context(self.ca_file))


class SchedulerLink:
    """Connects with a persistent session, subscribes, and queues what arrives."""

    def __init__(self, login: BrokerLogin, inbox: queue.Queue[Any], *,
                 extra_subscriptions: list[str] | None = None) -> None:
        self.inbox = inbox
        agent_topics = protocol.scheduler_subscriptions()
        if login.shared:
            agent_topics = [protocol.shared_subscription(t) for t in agent_topics]
        self.topics = [*agent_topics, *(extra_subscriptions or [])]
        # A shared member keeps no session: Mosquitto goes on handing a share of the messages
        # to an offline persistent member, so a dead replica would hold them until it came
        # back. Unacknowledged events are re-sent by the agents (docs/scaling.md).
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=login.client_id,
            clean_session=login.shared, protocol=mqtt.MQTTv311, manual_ack=True)
        login.present(self.client)
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(INFLIGHT)
        self.client.reconnect_delay_set(1, 15)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.login = login
        self._connected_at: float | None = None

    def start(self) -> None:
        self.client.connect_async(self.login.host, self.login.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self) -> bool:
        return self.client.is_connected()

    def connected_for(self) -> float:
        """Seconds since the current connection was made (0 while disconnected)."""
        since = self._connected_at
        return 0.0 if since is None or not self.connected else time.monotonic() - since

    def up_since(self) -> datetime | None:
        """When the current connection was made (None while disconnected).

        What the scheduler knew of the stations before it holds only as far as the broker
        kept it: a broker that died sent no wills, and what it retained is its memory. A
        station is heard again when a message of its own arrives over this connection.
        """
        up_for = self.connected_for()
        return None if up_for <= 0 else protocol.utcnow() - timedelta(seconds=up_for)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False,
                qos: int = protocol.QOS) -> None:
        """Queue a message; at QoS 1 paho resends it after a reconnect."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning("publish to %s failed: %s", topic, mqtt.error_string(info.rc))

    def ack(self, message: Incoming) -> None:
        if message.qos > 0:
            self.client.ack(message.mid, message.qos)

    def _on_connect(self, client: mqtt.Client, _userdata: Any, flags: Any, reason: Any,
                    _props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the scheduler: %s", reason)
            return
        log.info("connected to the broker (session present: %s)", flags.session_present)
        self._connected_at = time.monotonic()
        client.subscribe([(topic, protocol.QOS) for topic in self.topics])

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        # paho calls this inside its `except OSError` and keeps the error to itself.
        error = sys.exc_info()[1]
        if isinstance(error, ssl.SSLCertVerificationError):
            log.error("TLS: the broker's certificate failed verification (%s); check "
                      "WARDCAST_MQTT_CA_FILE and the host name in WARDCAST_MQTT_URL", error)
        elif isinstance(error, ssl.SSLError):
            log.error("TLS with the broker failed: %s", error)
        else:
            log.debug("cannot connect to the broker: %s", error)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any,
                       _props: Any) -> None:
        self._connected_at = None
        log.warning("disconnected from the broker: %s", reason)

    def _on_message(self, _client: mqtt.Client, _userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        self.inbox.put(Incoming(message.mid, message.qos, message.topic, bytes(message.payload),
                                retained=bool(message.retain)))


def broker_ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """A client context that verifies the broker's chain and host name.

    Without a CA file the system's trust store is used. A missing or unreadable CA file fails
    here, at start-up.
    """
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    return context
