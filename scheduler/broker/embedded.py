"""The in-process broker (amqtt), run by `wardcast serve` when no Mosquitto binary is found
(or WARDCAST_EMBEDDED_BROKER=amqtt).

Station logins and topics are checked against the database through two amqtt plugins; the
scheduler's own login is a secret made fresh at every start. When a station's token is rotated
or revoked, ``session_kicker`` drops its live connection at once; the auth plugin then refuses
the old token on reconnect because it reads the database at every login.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amqtt.adapters import ReaderAdapter, WriterAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.mqtt.connack import NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.constants import QOS_1, QOS_2
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session
from amqtt.utils import gen_client_id

from scheduler.broker.acl import (
    station_may_publish,
    station_may_receive,
    station_may_subscribe,
)
from wardcast.protocol import MAX_PAYLOAD_BYTES, SCHEDULER_CLIENT_ID, parse_group_topic

log = logging.getLogger(__name__)

LoginCheck = Callable[[str, str], bool]
# the protocol's largest payload, and room for the topic and the packet's headers
MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 4096


class PacketTooLarge(Exception):
    """A client sent a packet over MAX_PACKET_BYTES: its connection is closed, unread."""


class LimitedReader(ReaderAdapter):  # type: ignore[misc]
    """Refuse to read a packet body over the limit (amqtt would buffer any size)."""

    def __init__(self, reader: ReaderAdapter, limit: int = MAX_PACKET_BYTES) -> None:
        self._reader = reader
        self._limit = limit

    async def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self._limit:
            log.warning("closing an MQTT connection that sent a packet over %d bytes",
                        self._limit)
            raise PacketTooLarge(n)
        data: bytes = await self._reader.read(n)
        return data

    def feed_eof(self) -> None:
        self._reader.feed_eof()


GroupsOf = Callable[[str], frozenset[int]]


class GroupCache:
    """Each station's groups (with those above them), read from the database once and again
    after the scheduler says they changed (DatabaseAccounts.memberships_changed)."""

    def __init__(self, load: GroupsOf) -> None:
        self._load = load
        self._known: dict[str, frozenset[int]] = {}

    async def of(self, station: str) -> frozenset[int]:
        known = self._known.get(station)
        if known is None:
            known = self._known[station] = await asyncio.to_thread(self._load, station)
        return known

    def forget(self, station_ids: list[int]) -> None:
        for station_id in station_ids:
            self._known.pop(str(station_id), None)


@dataclass(frozen=True)
class Gate:
    """What the plugins need: the scheduler's secret, a station login check, its groups."""

    scheduler_password: str
    check_station: LoginCheck
    groups: GroupCache = field(default_factory=lambda: GroupCache(lambda _s: frozenset()))

    def is_scheduler(self, session: Session) -> bool:
        return bool(session.username == SCHEDULER_CLIENT_ID and secrets.compare_digest(
            str(session.password or ""), self.scheduler_password))


class StationAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """Accept the scheduler and stations whose token is valid; nothing anonymous."""

    @dataclass
    class Config:
        gate: Any = None

    async def authenticate(self, *, session: Session) -> bool | None:
        gate: Gate = self.config.gate
        username, password = session.username, session.password
        if not username or not password:
            return False
        if username == SCHEDULER_CLIENT_ID:
            return gate.is_scheduler(session)
        if session.client_id != username:
            return False
        if session.will_flag and not station_may_publish(username, session.will_topic or ""):
            # amqtt publishes a will without asking the topic plugin: check it here
            log.warning("station %s refused: last will on %s", username, session.will_topic)
            return False
        return await asyncio.to_thread(gate.check_station, username, password)


class StationTopicPlugin(BaseTopicPlugin):  # type: ignore[misc]
    """Keep each station to its own topics; the scheduler may use them all."""

    @dataclass
    class Config:
        gate: Any = None

    async def topic_filtering(self, *, session: Session | None = None, topic: str | None = None,
                              action: Action | None = None) -> bool | None:
        gate: Gate = self.config.gate
        if session is None or topic is None:
            return False
        if session.username == SCHEDULER_CLIENT_ID:
            return gate.is_scheduler(session)
        station = session.username or ""
        if action == Action.PUBLISH:
            return station_may_publish(station, topic)
        groups = await gate.groups.of(station) if parse_group_topic(topic) is not None else ()
        if action == Action.SUBSCRIBE:
            return station_may_subscribe(station, topic, groups)
        return station_may_receive(station, topic, groups)


def broker_config(*, host: str, port: int, gate: Gate) -> dict[str, Any]:
    """Return the amqtt configuration for one TCP listener and our two plugins."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {
            f"{__name__}.StationAuthPlugin": {"gate": gate},
            f"{__name__}.StationTopicPlugin": {"gate": gate},
        },
    }


class StationBroker(Broker):  # type: ignore[misc]
    """amqtt's broker, except that a CONNECT is authenticated before it touches any session.

    amqtt 0.12 merges a CONNECT into the existing session of its client id (will, username,
    password) or deletes that session (clean session) *before* it authenticates, and a refused
    login then "takes over" the live connection. Anyone could thus drop a station's connection
    or wipe its persistent session, and have a will of their choosing published in that
    station's name, with a wrong password. This is amqtt's ``_initialize_client_session`` with
    the login checked first; a refused CONNECT gets CONNACK 5 and leaves every session alone.

    It also reads no packet over MAX_PACKET_BYTES, and delivers each message by looking its
    topic up (see _run_broadcast).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wildcard_filters: set[str] = set()

    async def _client_connected(self, listener_name: str, reader: ReaderAdapter,
                                writer: WriterAdapter) -> None:
        await super()._client_connected(listener_name, LimitedReader(reader), writer)

    async def add_subscription(self, subscription: tuple[str, int], session: Session) -> int:
        granted: int = await super().add_subscription(subscription, session)
        if granted != 0x80 and ("+" in subscription[0] or "#" in subscription[0]):
            self._wildcard_filters.add(subscription[0])
        return granted

    def _subscribers(self, topic: str) -> list[tuple[Session, int]]:
        """Who subscribed to a topic, looked up, not found by walking every filter.

        amqtt 0.12 walks all its filters for each message (3 per station: 6,000 for 2,000
        stations), awaiting inside the walk: a SUBSCRIBE meanwhile raised "dictionary changed
        size during iteration" and the message was lost. Here the exact filter is one lookup,
        the wildcard ones (the scheduler's few) are kept aside, and what is read is a copy.
        """
        found = list(self._subscriptions.get(topic, ()))
        for topic_filter in list(self._wildcard_filters):
            holders = self._subscriptions.get(topic_filter)
            if holders is None:
                self._wildcard_filters.discard(topic_filter)
            elif self._matches(topic, topic_filter):
                found.extend(holders)
        return found

    async def _run_broadcast(self, running_tasks: Any) -> None:
        """Deliver one queued message: amqtt's own, over _subscribers."""
        broadcast = await self._broadcast_queue.get()
        topic = broadcast["topic"]
        for target, sub_qos in self._subscribers(topic):
            qos = broadcast.get("qos", sub_qos)
            if not await self._topic_filtering(target, topic=topic, action=Action.RECEIVE):
                continue
            connected = target.transitions.state == "connected"
            if not connected:
                # queued for a persistent session that is away (MQTT 3.1.2.4)
                if not target.clean_session and qos in (QOS_1, QOS_2) and not (
                        target.is_anonymous):
                    await self._retain_broadcast_message(broadcast, qos, target)
                continue
            handler = self._get_handler(target)
            if handler:
                running_tasks.append(asyncio.ensure_future(
                    handler.mqtt_publish(topic, broadcast["data"], qos, retain=False)))

    async def _initialize_client_session(
        self, reader: ReaderAdapter, writer: WriterAdapter, remote_address: str,
        remote_port: int) -> tuple[BrokerProtocolHandler, Session]:
        try:
            handler, client_session = await BrokerProtocolHandler.init_from_connect(
                reader, writer, self.plugins_manager)
        except AMQTTError as exc:
            log.warning("%s:%s: first packet is not a CONNECT: %s", remote_address,
                        remote_port, exc)
            raise AMQTTError(exc) from exc
        except MQTTError as exc:
            log.warning("invalid connection from %s:%s", remote_address, remote_port)
            await writer.close()
            raise MQTTError(exc) from exc
        except NoDataError as exc:
            raise AMQTTError(exc) from exc

        if not await self._authenticate(client_session, None):
            log.warning("MQTT login refused: client id %r, username %r, from %s:%s",
                        client_session.client_id, client_session.username, remote_address,
                        remote_port)
            await ConnackPacket.build(0, NOT_AUTHORIZED).to_stream(writer)
            await writer.close()
            raise MQTTError("not authorised")

        if client_session.clean_session:
            if client_session.client_id:
                await self._delete_session(client_session.client_id)
            else:
                client_session.client_id = gen_client_id()
            client_session.parent = 0
        elif client_session.client_id in self._sessions:
            existing, _ = self._sessions[client_session.client_id]
            for name in ("will_flag", "will_message", "will_topic", "will_qos", "will_retain",
                         "keep_alive", "username", "password"):
                setattr(existing, name, getattr(client_session, name))
            client_session = existing
            client_session.parent = 1
        else:
            client_session.parent = 0

        delay = self.config.get("timeout-disconnect-delay", 0)
        if client_session.keep_alive > 0 and isinstance(delay, int):
            client_session.keep_alive += delay
        return handler, client_session

    async def _publish_retained_messages_for_subscription(
            self, subscription: tuple[str, int], session: Session) -> None:
        """Send retained messages only through the session's own, granted subscriptions.

        amqtt 0.12 calls this on every connect with *every* topic filter anyone subscribed to
        and sends what matches without asking the topic plugin, so any station would get every
        other station's retained plan (and, through the scheduler's filters, every retained
        status). Here a filter counts only if this session holds it, and each retained topic
        must pass the RECEIVE check like any other delivery.
        """
        topic_filter, qos = subscription
        if all(holder is not session for holder, _ in self._subscriptions.get(topic_filter, [])):
            return
        handler = self._get_handler(session)
        if handler is None:
            return
        tasks = [
            asyncio.ensure_future(handler.mqtt_publish(
                retained.topic, retained.data, min(qos, retained.qos or qos), retain=True))
            for topic, retained in list(self._retained_messages.items())
            if self._matches(topic, topic_filter)
            and await self._topic_filtering(session, topic, Action.RECEIVE)
        ]
        if tasks:
            await asyncio.wait(tasks)


async def start_broker(*, host: str, port: int, gate: Gate) -> Broker:
    """Start the embedded broker and return it (call ``await broker.shutdown()``)."""
    broker = StationBroker(broker_config(host=host, port=port, gate=gate))
    await broker.start()
    log.info("embedded MQTT broker listening on %s:%s", host, port)
    return broker


KICK_TIMEOUT_S = 5.0


async def disconnect_client(broker: Broker, client_id: str) -> bool:
    """Close the live connection of a client id, if any; return whether there was one.

    This is what amqtt itself does when a client id is taken over: the handler is told its
    connection closed (the session's message loop then ends it as an abnormal disconnect, so
    the station's last will, ``offline``, is published) and the handler is stopped, which
    cancels its reader and closes the socket. The persistent session (subscriptions, queued
    QoS 1 messages) stays, so a station that logs in again with its new token resumes it.
    """
    session, handler = broker.sessions.get(client_id, (None, None))
    if session is None or handler is None or session.transitions.state != "connected":
        return False
    log.info("disconnecting MQTT client %s: its token was rotated or revoked", client_id)
    await handler.handle_connection_closed()
    await handler.stop()
    return True


def session_kicker(broker: Broker, loop: asyncio.AbstractEventLoop) -> Callable[[str], None]:
    """Return ``kick(client_id)`` for DatabaseAccounts, callable from any thread.

    Called from an API worker thread it waits (a few seconds at most) until the connection is
    closed, so when the rotate or revoke route answers the old session is already gone.
    """

    def kick(client_id: str) -> None:
        future = asyncio.run_coroutine_threadsafe(disconnect_client(broker, client_id), loop)
        if _running_loop() is loop:
            return  # called on the broker's own loop: it runs as soon as we yield
        try:
            future.result(timeout=KICK_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            log.error("disconnecting MQTT client %s took more than %ss", client_id,
                      KICK_TIMEOUT_S)
        except Exception:  # a failed kick must not fail the API call that revoked the token
            log.exception("could not disconnect MQTT client %s", client_id)

    return kick


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
