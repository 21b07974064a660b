"""Start the scheduler's messaging: the broker it runs (if any), its login, the dispatcher.

WARDCAST_BROKER=embedded runs Mosquitto, supervised, where its binary exists (and amqtt,
in-process, where it does not, saying so); `external` uses the broker at WARDCAST_MQTT_URL.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from scheduler.broker.accounts import DatabaseAccounts, DynsecAccounts, PasswordFileAccounts
from scheduler.broker.mosquitto import (
    Layout,
    find_mosquitto,
    free_loopback_port,
    new_scheduler_secret,
)
from scheduler.broker.supervisor import BrokerStartError, Supervised
from scheduler.config import Settings
from scheduler.db import Database
from scheduler.dispatch.client import BrokerLogin
from scheduler.dispatch.dispatcher import Dispatcher, DispatchTiming
from scheduler.groups import service as groups
from scheduler.runtime import Runtime
from scheduler.stations import service as stations
from wardcast.protocol import FLEET_TOPIC, SCHEDULER_CLIENT_ID, scheduler_client_id

log = logging.getLogger(__name__)

START_TIMEOUT_S = 15.0
PORT_ATTEMPTS = 3
PORT_TAKEN = "Address already in use"
RELOAD_WAIT_S = 2.0


async def start_messaging(runtime: Runtime, stack: AsyncExitStack) -> None:
    """Start the broker wardcast runs (if any), then the dispatcher; stop them in reverse."""
    settings = runtime.settings
    if settings.broker == "external":
        login = BrokerLogin(settings.mqtt_host, settings.mqtt_port, settings.mqtt_username,
                            settings.mqtt_password, tls=settings.mqtt_tls,
                            ca_file=settings.mqtt_ca_file,
                            client_id=scheduler_client_id(settings.replica_id),
                            shared=settings.shared_subscriptions)
    elif (binary := embedded_mosquitto(settings)) is not None:
        login = await asyncio.to_thread(_start_mosquitto, runtime, stack, str(binary))
    else:
        login = await _start_amqtt(runtime, stack)
    dispatcher = Dispatcher(db=runtime.db, login=login, timing=_timing(settings),
                            dynsec=settings.broker == "external")
    dispatcher.start()
    stack.callback(dispatcher.stop)
    runtime.dispatcher = dispatcher
    if settings.broker == "external":
        runtime.accounts = DynsecAccounts(dispatcher.publish, login.username or "",
                                          load_groups=partial(_memberships, runtime.db, None))
        runtime.accounts.prepare()


def _memberships(db: Database, station_ids: list[int] | None) -> dict[int, list[int]]:
    """Each given station's groups, with those above them (None: every station's)."""
    with db.session() as session:
        if station_ids is None:
            return groups.all_memberships(session=session)
        return groups.memberships(session=session, station_ids=station_ids)


def embedded_mosquitto(settings: Settings) -> Path | None:
    """Return the Mosquitto binary the embedded broker runs, or None for amqtt (saying why).

    A binary that was asked for by name or path and is not there is a configuration error,
    not a reason to carry a province on amqtt."""
    if settings.embedded_broker == "amqtt":
        log.info("embedded broker: amqtt, as WARDCAST_EMBEDDED_BROKER asks")
        return None
    binary = find_mosquitto(settings.mosquitto_binary)
    if binary is not None:
        return binary
    if settings.mosquitto_binary is not None or settings.embedded_broker == "mosquitto":
        raise RuntimeError(
            f"no executable mosquitto at {settings.mosquitto_binary or 'PATH or /usr/sbin'}: "
            "apt-get install mosquitto, or set WARDCAST_MOSQUITTO_BINARY to its path")
    log.warning("no mosquitto binary found: running the in-process amqtt broker instead, "
                "which is fit for a few hundred stations (apt-get install mosquitto for more; "
                "docs/benchmarks.md)")
    return None


def _timing(settings: Settings) -> DispatchTiming:
    return DispatchTiming(late_grace=timedelta(seconds=settings.late_grace_s),
                          horizon=timedelta(hours=settings.horizon_hours))


def _start_mosquitto(runtime: Runtime, stack: AsyncExitStack, binary: str) -> BrokerLogin:
    """Write the broker's files from the database, start it, and return the scheduler's login."""
    settings = runtime.settings
    secret = new_scheduler_secret()
    layout = Layout(folder=settings.data_dir / "broker", host=settings.mqtt_host,
                    port=settings.mqtt_port, scheduler_port=free_loopback_port())
    layout.write(scheduler_password=secret)
    broker = _mosquitto(binary, layout)
    # Its own connections: requests wait for this writer with theirs, and once every pooled
    # connection was held by a request that had no thread left to finish on, the writer waited
    # for them and they for it (64 stations registered at once).
    db = Database(settings.sqlalchemy_url, pooled=False)
    stack.callback(db.dispose)

    def load() -> list[tuple[str, str]]:
        with db.session() as session:
            return stations.broker_logins(session=session)

    login = BrokerLogin("127.0.0.1", layout.scheduler_port, SCHEDULER_CLIENT_ID, secret)

    def write_acl() -> None:
        memberships = _memberships(db, None)
        layout.write_station_acl({str(s): g for s, g in memberships.items() if g})

    accounts = PasswordFileAccounts(path=layout.station_passwords, load=load,
                                    reload=lambda: _reload(broker, login), write_acl=write_acl)
    accounts.prepare()  # the station logins are on disk before the broker reads them
    stack.callback(accounts.stop)
    for attempt in range(PORT_ATTEMPTS):
        try:
            broker.start(timeout=START_TIMEOUT_S)
            break
        except BrokerStartError as exc:
            if PORT_TAKEN not in str(exc):
                raise
            if not _free(layout.host, layout.port):
                raise BrokerStartError(
                    f"port {layout.port} on {layout.host} is already in use (another broker, or "
                    "another wardcast?): stop it, or set WARDCAST_MQTT_URL to another port"
                ) from exc
            if attempt == PORT_ATTEMPTS - 1:
                raise
            # The scheduler's own port was free when picked, and was taken before the broker
            # bound it (an outgoing connection's port, another program): pick another.
            log.warning("the broker's loopback port %s was taken meanwhile; trying another",
                        layout.scheduler_port)
            layout = replace(layout, scheduler_port=free_loopback_port())
            layout.write_config()
            login = replace(login, port=layout.scheduler_port)
            broker = _mosquitto(binary, layout)  # the reload above reads it
    stack.callback(broker.stop)
    runtime.accounts = accounts
    log.info("embedded broker: mosquitto (%s) for stations on %s:%s", binary, layout.host,
             layout.port)
    return login


def _mosquitto(binary: str, layout: Layout) -> Supervised:
    return Supervised([binary, "-c", str(layout.config)], name="mosquitto",
                      ready=[(_reachable(layout.host), layout.port),
                             ("127.0.0.1", layout.scheduler_port)],
                      output=logging.getLogger("wardcast.mosquitto"),
                      # as root it keeps root ("user root"): its files are the scheduler's
                      benign=["Warning: Mosquitto should not be run as root",
                              # the fleet's urgent topic is one topic every station reads
                              f"Warning: ACL pattern '{FLEET_TOPIC}' does not contain"])


def _free(host: str, port: int) -> bool:
    """Tell whether a listener could bind host:port now (as Mosquitto does: SO_REUSEADDR)."""
    try:
        socket.create_server((host, port)).close()
    except OSError:
        return False
    return True


def _reload(broker: Supervised, probe: BrokerLogin) -> None:
    """Have the broker read its files again, and return once it has.

    Mosquitto takes a signal only between two waits for its sockets and reloads at the end of
    the turn that follows, after the packets of that turn: a message sent just after the
    SIGHUP (a broadcast right after a change of a group's members) could still be let
    through by the old rules. A round trip (CONNECT, CONNACK) after the signal makes that
    turn happen; whatever is sent after it comes in a later turn, under the new rules. A
    broker that is (re)starting reads the files anyway when it comes up.
    """
    if not broker.signal(signal.SIGHUP):
        return
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{probe.client_id}-reload",
                         protocol=mqtt.MQTTv311)
    probe.present(client)
    try:
        client.connect(probe.host, probe.port, keepalive=10)
        deadline = time.monotonic() + RELOAD_WAIT_S
        while not client.is_connected() and time.monotonic() < deadline:
            client.loop(timeout=0.05)
        client.disconnect()
    except OSError as exc:  # it restarts: it reads the files as it comes up
        log.warning("could not confirm the broker reloaded its files: %s", exc)


def _reachable(host: str) -> str:
    """Where to check a listener bound to host: a wildcard address answers on loopback."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


async def _start_amqtt(runtime: Runtime, stack: AsyncExitStack) -> BrokerLogin:
    # imported lazily: amqtt is loaded only where the embedded broker runs, not with Mosquitto
    from scheduler.broker.embedded import Gate, GroupCache, session_kicker, start_broker

    settings = runtime.settings
    secret = new_scheduler_secret()
    db = runtime.db

    def check_station(username: str, password: str) -> bool:
        with db.session() as session:
            return stations.check_login(session=session, station_id=username, token=password)

    def groups_of(station: str) -> frozenset[int]:
        if not station.isdigit():
            return frozenset()
        return frozenset(_memberships(db, [int(station)]).get(int(station), []))

    cache = GroupCache(groups_of)
    broker = await start_broker(host=settings.mqtt_host, port=settings.mqtt_port,
                                gate=Gate(scheduler_password=secret, check_station=check_station,
                                          groups=cache))
    stack.push_async_callback(broker.shutdown)
    loop = asyncio.get_running_loop()

    def forget(station_ids: list[int]) -> None:
        loop.call_soon_threadsafe(cache.forget, station_ids)

    runtime.accounts = DatabaseAccounts(kick=session_kicker(broker, loop), forget=forget)
    return BrokerLogin(settings.mqtt_host, settings.mqtt_port, SCHEDULER_CLIENT_ID, secret)
