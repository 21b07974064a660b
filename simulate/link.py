"""A station's MQTT link driven by the shared hub instead of its own paho thread.

The agent's MqttLink (same client id, login, will, topics, callbacks) with the hub as its
Driver. The handlers the station gives it are wrapped: they keep the hub's session up to
date, count connections and plans, and tell the backlog and the heap that a plan arrived.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from agents.config import Settings
from agents.link import LinkHandlers, MqttLink
from simulate.backlog import Backlog
from simulate.heap import Heap
from simulate.hub import MqttHub, Session
from simulate.stats import Stats
from wardcast.protocol import Channel

PUBLISH_POLL_S = 0.05


class HubDriver:
    """The Driver of one station's client: the shared hub, on the loop's own thread."""

    def __init__(self, hub: MqttHub, session: Session, *, label: str) -> None:
        self._hub = hub
        self._session = session
        self._label = label
        self._loop = asyncio.get_running_loop()

    def start(self, client: mqtt.Client) -> None:
        """Hand the client to the hub, which connects it and retries until it succeeds."""
        self._hub.adopt(client)
        self._hub.keep_connected(client, self._session, label=self._label)

    def hand_over(self, callback: Callable[..., None], *args: Any) -> None:
        """Queue callback: paho calls back on the loop's own thread here, never run it inside."""
        self._loop.call_soon(callback, *args)

    async def stop(self, client: mqtt.Client, last_words: mqtt.MQTTMessageInfo | None,
                   wait_s: float) -> None:
        """Wait briefly for the broker to take the last words, disconnect, leave the hub."""
        deadline = time.monotonic() + wait_s
        # paho's wait_for_publish blocks a thread; 10,000 of them would not do.
        while (last_words is not None and not last_words.is_published()  # noqa: ASYNC110
               and time.monotonic() < deadline):
            await asyncio.sleep(PUBLISH_POLL_S)
        await self._hub.release(client, self._session, wait_s=wait_s)


class SimLink:
    """The Link of a simulated station: MqttLink on the hub, observed for the summary."""

    def __init__(self, settings: Settings, *, boot_id: str, hub: MqttHub, stats: Stats,
                 backlog: Backlog, heap: Heap) -> None:
        self._session = Session()
        self._link = MqttLink(settings, boot_id=boot_id,
                              driver=HubDriver(hub, self._session, label=settings.station))
        self._stats = stats
        self._backlog = backlog
        self._heap = heap

    @property
    def connected(self) -> bool:
        """Tell whether the session is up."""
        return self._link.connected

    def start(self, handlers: LinkHandlers) -> None:
        """Start connecting through the hub, reporting to handlers (observed)."""
        self._link.start(_Observed(handlers, self))

    def subscribe(self) -> None:
        """Subscribe to the channels the agent listens to."""
        self._link.subscribe()

    def follow(self, topics: set[str]) -> None:
        """Read these urgent topics from now on, and no others."""
        self._link.follow(topics)

    def publish(self, channel: Channel, payload: bytes, *, retain: bool = False
                ) -> mqtt.MQTTMessageInfo:
        """Publish at QoS 1."""
        return self._link.publish(channel, payload, retain=retain)

    async def stop(self, last_words: bytes, *, wait_s: float = 2.0) -> None:
        """Publish the offline status, wait briefly for the broker to take it, disconnect."""
        await self._link.stop(last_words, wait_s=wait_s)

    def observe_connect(self) -> None:
        """A session came up: one more than the stations is a reconnect (and its sync)."""
        self._session.connected()
        self._stats.connects += 1

    def observe_loss(self) -> None:
        """The session went down: the hub reconnects it."""
        self._session.lost()

    def observe_urgent(self) -> None:
        """A group's urgent message arrived: as a burst of plans, reports wait for its end."""
        self._stats.urgent += 1
        self._backlog.hold()
        self._heap.pause()

    def observe_plan(self) -> None:
        """A plan arrived: in a burst of them (an emergency), reports wait for its end."""
        self._stats.plans += 1
        self._backlog.hold()
        self._heap.pause()


class _Observed:
    """A station's link handlers, with the simulator told first."""

    def __init__(self, station: LinkHandlers, link: SimLink) -> None:
        self._station = station
        self._link = link

    def connected(self) -> None:
        self._link.observe_connect()
        self._station.connected()

    def disconnected(self) -> None:
        self._link.observe_loss()
        self._station.disconnected()

    def message(self, channel: Channel, payload: bytes) -> None:
        if channel is Channel.PLAN:
            self._link.observe_plan()
        self._station.message(channel, payload)

    def urgent(self, topic: str, payload: bytes) -> None:
        self._link.observe_urgent()
        self._station.urgent(topic, payload)

    def published(self, mid: int) -> None:
        self._station.published(mid)
