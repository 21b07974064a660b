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


def test_messages_are_written_by_the_publishing_thread(broker: Mosquitto) -> None:
    sender = Sender(_login(broker))
    threads = threading.active_count()
    sender.open()
    try:
        assert sender.connected
        assert threading.active_count() == threads  # no network thread of its own
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
    mosquitto = broker
    sender = Sender(_login(mosquitto))
    sender.open()
    with _listener(mosquitto):
        pass  # the listener's persistent session now holds its subscription
    try:
        mosquitto.stop()
        wait_for(lambda: not port_open(mosquitto.port), timeout=10, what="the broker to stop")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # the worker idles and services, finds it gone
            sender.service(timeout=0.1)
        assert not sender.connected
        sender.publish(_plan_topic(7), b"plan 7, written while away", retain=True)
        sender.service()
        mosquitto.start()

        def back() -> bool:
            sender.service(timeout=0.1)
            return sender.connected

        wait_for(back, timeout=30, what="the sending connection to come back by itself")
        sender.flush()
        with _listener(mosquitto) as got:  # the same session: its queued message comes
            wait_for(lambda: bool(got), timeout=10, what="the message sent while away")
        assert got[0][:2] == (_plan_topic(7), b"plan 7, written while away")
    finally:
        sender.close()


def test_a_refused_login_is_retried_without_blocking_the_worker(mosquitto: Mosquitto) -> None:
    login = BrokerLogin("127.0.0.1", mosquitto.port, mosquitto.admin_user, "wrong")
    sender = Sender(login)
    began = time.monotonic()
    sender.open()
    for _ in range(20):
        sender.publish(_plan_topic(1), b"plan", retain=True)  # queued, not lost, no error
        sender.service(timeout=0.05)
    assert time.monotonic() - began < 10
    assert not sender.connected
    sender.close()
