"""The MQTT link to the broker: one persistent paho session, reconnecting with backoff.

paho runs its network loop on its own thread; every callback only hands its news to the
asyncio loop with ``call_soon_threadsafe``, where the handlers own all agent state. paho keeps
unacknowledged QoS 1 publishes across reconnects and resends them; delivery of events does not
rest on that: the reporter republishes them until the scheduler confirms them.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import sys
from collections.abc import Callable
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from agents.config import Settings
from wardcast.protocol import AGENT_SUBSCRIBES, QOS, Channel, Status, encode, station_topic

log = logging.getLogger(__name__)

KEEPALIVE_S = 30
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 60


class LinkHandlers(Protocol):
    """What the link reports, always on the asyncio loop's thread."""

    def connected(self) -> None: ...
    def disconnected(self) -> None: ...
    def message(self, channel: Channel, payload: bytes) -> None: ...
    def published(self, mid: int) -> None: ...


class Link:
    """A station's MQTT session: client id and username are the station id."""

    def __init__(self, settings: Settings, *, boot_id: str, handlers: LinkHandlers) -> None:
        self._settings = settings
        self._handlers = handlers
        self._loop = asyncio.get_running_loop()
        self._topics = {station_topic(settings.station, c): c for c in Channel}
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

    def start(self) -> None:
        """Start connecting in the background; paho retries until it succeeds."""
        log.info("connecting to %s as %s", self._settings.mqtt_url, self._settings.station)
        self._client.connect_async(self._settings.mqtt_host, self._settings.mqtt_port,
                                   keepalive=KEEPALIVE_S)
        self._client.loop_start()

    def subscribe(self) -> None:
        """Subscribe to the channels the agent listens to."""
        self._client.subscribe([(self.topic(c), QOS) for c in AGENT_SUBSCRIBES])

    def publish(self, channel: Channel, payload: bytes, *, retain: bool = False
                ) -> mqtt.MQTTMessageInfo:
        """Publish at QoS 1; paho queues it while disconnected."""
        return self._client.publish(self.topic(channel), payload, qos=QOS, retain=retain)

    async def stop(self, last_words: bytes, *, wait_s: float = 2.0) -> None:
        """Publish the offline status, wait briefly for it, then disconnect."""
        self._stopping = True
        if self.connected:
            info = self.publish(Channel.STATUS, last_words, retain=True)
            await asyncio.to_thread(_wait_published, info, wait_s)
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    # --- paho's thread: hand everything to the loop ------------------------------------

    def _hand_over(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop closed during shutdown
            pass

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
                    reason: ReasonCode, properties: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection (%s); check station id and token", reason)
            return
        self._last_failure = ""
        self._hand_over(self._connected)

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
        self._hand_over(self._disconnected, str(reason))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage
                    ) -> None:
        channel = self._topics.get(message.topic)
        if channel is None:
            log.warning("message on unexpected topic %s dropped", message.topic)
            return
        self._hand_over(self._handlers.message, channel, bytes(message.payload))

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode,
                    properties: Any) -> None:
        self._hand_over(self._handlers.published, mid)

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
