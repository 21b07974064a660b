"""The dispatcher's sending connection, against a real Mosquitto: written by the caller's
thread, nothing lost while the broker is away."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from scheduler.broker.accounts import DYNSEC_RESPONSE_TOPIC, DYNSEC_TOPIC
from scheduler.dispatch.client import BrokerLogin
from scheduler.dispatch.sender import Sender
from tests.support.mosquitto import Mosquitto
from tests.support.procs import port_open, wait_for
from wardcast import protocol
from wardcast.protocol import Channel


def _login(broker: Mosquitto) -> BrokerLogin:
    return BrokerLogin("127.0.0.1", broker.port, broker.admin_user, broker.admin_password)


@pytest.fixture
def broker(mosquitto: Mosquitto) -> Mosquitto:
    """The test broker, where its admin login may also listen to every station's topics."""
    acls = [{"acltype": kind, "topic": "wardcast/#", "allow": True}
            for kind in ("publishClientSend", "publishClientReceive", "subscribePattern")]
    commands = [{"command": "createRole", "rolename": "all-stations", "acls": acls},
                {"command": "addClientRole", "username": mosquitto.admin_user,
                 "rolename": "all-stations"}]
    answer = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set(mosquitto.admin_user, mosquitto.admin_password)
    client.on_connect = lambda c, *_a: c.subscribe(DYNSEC_RESPONSE_TOPIC, qos=1)
    client.on_subscribe = lambda c, *_a: c.publish(
        DYNSEC_TOPIC, json.dumps({"commands": commands}), qos=1)
    client.on_message = lambda *_a: answer.set()
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    try:
        assert answer.wait(10), "the broker did not answer the dynamic-security commands"
    finally:
        client.disconnect()
        client.loop_stop()
    return mosquitto


@contextmanager
def _listener(broker: Mosquitto) -> Iterator[list[tuple[str, bytes, bool]]]:
    """A persistent-session subscriber to every station's plan topic, as an agent would be."""
    got: list[tuple[str, bytes, bool]] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="listener",
                         clean_session=False, protocol=mqtt.MQTTv311)
    client.username_pw_set(broker.admin_user, broker.admin_password)
    subscribed = threading.Event()
    client.on_connect = lambda c, *_a: c.subscribe(protocol.station_topic("+", Channel.PLAN),
                                                   qos=1)
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_message = lambda _c, _u, m: got.append((m.topic, bytes(m.payload), m.retain))
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    assert subscribed.wait(10)
    try:
        yield got
    finally:
        client.disconnect()
        client.loop_stop()


def _plan_topic(n: int) -> str:
    return protocol.station_topic(str(n), Channel.PLAN)


def _retained(broker: Mosquitto, topic: str) -> bytes:
    """What a station subscribing now would get first on topic: its retained message."""
    got: list[bytes] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set(broker.admin_user, broker.admin_password)
    client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
    client.on_message = lambda _c, _u, m: got.append(bytes(m.payload))
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        wait_for(lambda: bool(got), timeout=10, what=f"the retained message on {topic}")
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0]


def _away(broker: Mosquitto, sender: Sender) -> None:
    """Stop the broker; service the sender as an idle worker does until it sees it gone."""
    broker.stop()
    wait_for(lambda: not port_open(broker.port), timeout=10, what="the broker to stop")
    wait_for(lambda: (sender.service(timeout=0.1), not sender.connected)[1], timeout=10,
             what="the sender to see the broker gone")


def _back(broker: Mosquitto, sender: Sender) -> None:
    """Start the broker again; service the sender until it has reconnected by itself."""
    broker.start()
    wait_for(lambda: (sender.service(timeout=0.1), sender.connected)[1], timeout=30,
             what="the sending connection to come back by itself")
    sender.flush()


def test_messages_are_written_by_the_publishing_thread(broker: Mosquitto) -> None:
    sender = Sender(_login(broker))
    sender.open()
    try:
        assert sender.connected
        assert sender.client._thread is None  # no network thread of its own
        assert not [t for t in threading.enumerate() if t.name.startswith("paho")]
        with _listener(broker) as got:
            for n in range(1, 2001):
                sender.publish(_plan_topic(n), f"plan {n}".encode(), retain=True)
            sender.flush()  # what the socket did not take at once, and the PUBACKs so far
            wait_for(lambda: len(got) == 2000, timeout=20, what="2000 plans delivered")
            assert [topic for topic, _, _ in got] == [_plan_topic(n) for n in range(1, 2001)]
            wait_for(lambda: (sender.service(timeout=0.05), not sender.client._out_messages)[1],
                     timeout=10, what="every PUBACK read")
    finally:
        sender.close()
    assert not sender.connected


def test_what_is_published_while_the_broker_is_away_arrives_when_it_is_back(
        broker: Mosquitto) -> None:
    sender = Sender(_login(broker))
    sender.open()
    with _listener(broker):
        pass  # the listener's persistent session now holds its subscription
    try:
        _away(broker, sender)
        sender.publish(_plan_topic(7), b"plan 7, written while away", retain=True)
        sender.service()
        _back(broker, sender)
        assert sender.held == 0
        with _listener(broker) as got:  # the same session: its queued message comes
            wait_for(lambda: bool(got), timeout=10, what="the message sent while away")
        assert got[0][:2] == (_plan_topic(7), b"plan 7, written while away")
    finally:
        sender.close()


def test_an_older_plan_never_lands_after_a_newer_one_across_a_reconnect(
        broker: Mosquitto) -> None:
    """A plan made while the broker was away, then a newer one while the connection is
    being made again (its CONNACK not read yet): the newer one is what stations get."""
    sender = Sender(_login(broker))
    sender.open()
    try:
        _away(broker, sender)
        sender.publish(_plan_topic(3), b"revision 1", retain=True)
        broker.start()
        wait_for(lambda: (sender.service(), sender.client.socket() is not None)[1],
                 timeout=30, what="a new connection (not yet confirmed)")
        assert not sender.connected
        sender.publish(_plan_topic(3), b"revision 2", retain=True)
        wait_for(lambda: (sender.service(timeout=0.1), sender.connected)[1], timeout=10,
                 what="the broker's CONNACK")
        sender.flush()
        assert _retained(broker, _plan_topic(3)) == b"revision 2"
    finally:
        sender.close()


def test_a_long_outage_holds_one_plan_per_station(broker: Mosquitto) -> None:
    """Seven 10,000-station pushes while the broker is away would overflow MQTT's 65,535
    message ids; what is held is the latest plan of each station, in the end sent."""
    sender = Sender(_login(broker))
    sender.open()
    try:
        _away(broker, sender)
        for push in range(1, 7001):
            for station in (1, 2, 3):
                sender.publish(_plan_topic(station), f"push {push}".encode(), retain=True)
        sender.publish(protocol.station_topic("1", Channel.ACK), b"ack", qos=0)  # not held
        assert sender.held == 3
        _back(broker, sender)
        assert sender.held == 0
        assert [_retained(broker, _plan_topic(n)) for n in (1, 2, 3)] == [b"push 7000"] * 3
    finally:
        sender.close()


def test_a_refused_login_is_retried_with_backoff_and_holds_the_plans(
        mosquitto: Mosquitto) -> None:
    login = BrokerLogin("127.0.0.1", mosquitto.port, mosquitto.admin_user, "wrong")
    sender = Sender(login)
    attempts: list[float] = []
    reconnect = sender.client.reconnect

    def counted() -> mqtt.MQTTErrorCode:
        attempts.append(time.monotonic())
        return reconnect()

    sender.client.reconnect = counted  # type: ignore[method-assign]
    began = time.monotonic()
    sender.open()
    for n in range(20):
        sender.publish(_plan_topic(n), b"plan", retain=True)
    while time.monotonic() - began < 3.6:  # an idle worker: a service call at a time
        sender.service(timeout=0.05)
    assert not sender.connected and sender.held == 20
    # tried again (after 1 s, then 2 s), not in a busy loop
    assert 2 <= len(attempts) <= 4, attempts
    sender.close()
