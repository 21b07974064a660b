"""The embedded broker (amqtt) run by `wardcast serve` when WARDCAST_BROKER=embedded.

Station logins and topics are checked against the database through two amqtt plugins; the
scheduler's own login is a secret made fresh at every start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from scheduler.broker.acl import (
    station_may_publish,
    station_may_receive,
    station_may_subscribe,
)
from wardcast.protocol import SCHEDULER_CLIENT_ID

log = logging.getLogger(__name__)

LoginCheck = Callable[[str, str], bool]


@dataclass(frozen=True)
class Gate:
    """What the plugins need: the scheduler's secret and a station login check."""

    scheduler_password: str
    check_station: LoginCheck

    def is_scheduler(self, session: Session) -> bool:
        return bool(session.username == SCHEDULER_CLIENT_ID
                    and session.password == self.scheduler_password)


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
        if action == Action.SUBSCRIBE:
            return station_may_subscribe(station, topic)
        if action == Action.PUBLISH:
            return station_may_publish(station, topic)
        return station_may_receive(station, topic)


def broker_config(*, host: str, port: int, gate: Gate) -> dict[str, Any]:
    """Return the amqtt configuration for one TCP listener and our two plugins."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {
            f"{__name__}.StationAuthPlugin": {"gate": gate},
            f"{__name__}.StationTopicPlugin": {"gate": gate},
        },
    }


async def start_broker(*, host: str, port: int, gate: Gate) -> Broker:
    """Start the embedded broker and return it (call ``await broker.shutdown()``)."""
    broker = Broker(broker_config(host=host, port=port, gate=gate))
    await broker.start()
    log.info("embedded MQTT broker listening on %s:%s", host, port)
    return broker
