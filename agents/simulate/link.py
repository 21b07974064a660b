"""A station's MQTT link driven by the shared hub instead of its own paho thread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from agents.config import Settings
from agents.link import KEEPALIVE_S, Link, LinkHandlers
from agents.simulate.hub import MqttHub, Session
from wardcast.protocol import Channel

PUBLISH_POLL_S = 0.05


class SimLink(Link):
    """The agent's Link (same client id, login, will, topics, callbacks) on the hub."""

    def __init__(self, settings: Settings, *, boot_id: str, handlers: LinkHandlers,
                 hub: MqttHub) -> None:
        super().__init__(settings, boot_id=boot_id, handlers=handlers)
        self._hub = hub
        self._session = Session()
        hub.adopt(self._client)

    def start(self) -> None:
        """Start connecting; the hub retries until it succeeds."""
        self._client.connect_async(self._settings.mqtt_host, self._settings.mqtt_port,
                                   keepalive=KEEPALIVE_S)
        self._hub.keep_connected(self._client, self._session, label=self._settings.station)

    async def stop(self, last_words: bytes, *, wait_s: float = 2.0) -> None:
        """Publish the offline status, wait briefly for the broker to take it, disconnect."""
        self._stopping = True
        if self.connected:
            info = self.publish(Channel.STATUS, last_words, retain=True)
            deadline = time.monotonic() + wait_s
            # paho's wait_for_publish blocks a thread; 10,000 of them would not do.
            while not info.is_published() and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(PUBLISH_POLL_S)
        await self._hub.release(self._client, self._session, wait_s=wait_s)

    def _hand_over(self, callback: Callable[..., None], *args: Any) -> None:
        # paho calls back on the loop's own thread here: queue it, never run it inside paho.
        self._loop.call_soon(callback, *args)

    def _connected(self) -> None:
        self._session.connected()
        super()._connected()

    def _disconnected(self, reason: str) -> None:
        self._session.lost()
        super()._disconnected(reason)
