"""A station's login reaches only its own topics, on Mosquitto (dynamic security), on the
Mosquitto `wardcast serve` runs and on amqtt alike; tokens that were rotated or revoked stop
working at once.

Real processes throughout: `wardcast serve`, the broker, and the mosquitto_pub / mosquitto_sub
clients logging in as stations (username = client id = station id, password = token).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.broker.conftest import Broker, Station, StationClient, event, status
from tests.support.procs import wait_for
from wardcast.protocol import Channel

pytestmark = pytest.mark.e2e

DENIED = "All subscription requests were denied"
SYNC = {"v": 1, "boot_id": "boot-test", "sent_at": "2026-01-01T00:00:00.000Z"}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_station_cannot_read_another_stations_topics(broker: Broker, tmp_path: Path) -> None:
    a, b = broker.station(), broker.station()
    theirs = broker.playback(b)
    spy_log = tmp_path / "a.log"
    # A's own plan topic is among them, so the client stays connected and listening
    spy = broker.sub([a.topic(Channel.PLAN), b.topic(Channel.PLAN), b.topic(Channel.COMMAND),
                      b.topic(Channel.ACK), "wardcast/stations/+/plan", "wardcast/#", "#"],
                     username=a.name, password=a.token, log=spy_log)
    own = StationClient(broker, b)
    try:
        own.subscribe(Channel.PLAN, Channel.ACK)
        time.sleep(0.5)  # both subscriptions are in place
        # B's own sync makes the scheduler publish B's plan; B's event makes it send an ack
        own.publish(Channel.SYNC, SYNC)
        wait_for(lambda: any(f'"playback_id":{theirs}'.encode() in p
                             for p in own.got(Channel.PLAN)), timeout=10, what="B's plan")
        own.publish(Channel.EVENTS, event(theirs, "accepted"))
        wait_for(lambda: bool(own.got(Channel.ACK)), timeout=10, what="B's ack")
        time.sleep(0.5)
        assert spy.poll() is None, spy_log.read_text()  # it was listening all along
        # subscribing after the plan was retained would deliver it at once, if allowed
        late = subprocess.run(
            ["mosquitto_sub", *broker._login(a.name, a.token, a.name), "-v",
             "-t", b.topic(Channel.PLAN), "-W", "2"], capture_output=True, timeout=20)
        assert late.stdout == b"", late
        if broker.refuses_foreign_subscriptions:
            assert DENIED in late.stderr.decode(), late
    finally:
        own.close()
        _stop(spy)
    assert f"wardcast/stations/{b.id}/".encode() not in spy_log.read_bytes(), spy_log.read_text()


def test_a_command_for_one_station_reaches_only_that_station(broker: Broker,
                                                             tmp_path: Path) -> None:
    a, b = broker.station(), broker.station()
    spy_log = tmp_path / "a.log"
    # A listens with its own login on B's command topic (and wildcards over it); A's own
    # command topic is among them, so the client stays connected and listening
    spy = broker.sub([a.topic(Channel.COMMAND), b.topic(Channel.COMMAND),
                      "wardcast/stations/+/cmd", "wardcast/#", "#"],
                     username=a.name, password=a.token, log=spy_log)
    own = StationClient(broker, b)
    try:
        own.subscribe(Channel.COMMAND)
        time.sleep(0.5)  # both subscriptions are in place
        sent = broker.api.post(f"/stations/{b.id}/commands",
                               json={"type": "volume", "args": {"percent": 40}})
        assert sent.status_code == 202, sent.text
        command_id = str(sent.json()["command_id"])
        wait_for(lambda: any(command_id.encode() in p for p in own.got(Channel.COMMAND)),
                 timeout=10, what="B's command")
        time.sleep(0.5)
        assert spy.poll() is None, spy_log.read_text()  # it was listening all along
    finally:
        own.close()
        _stop(spy)
    heard = spy_log.read_bytes()
    assert command_id.encode() not in heard, spy_log.read_text()
    assert f"wardcast/stations/{b.id}/".encode() not in heard, spy_log.read_text()


def test_a_station_cannot_publish_as_another(broker: Broker, tmp_path: Path) -> None:
    a, b = broker.station(), broker.station()
    theirs = broker.playback(b)
    mine = broker.playback(a)
    forged = [(b.topic(Channel.EVENTS), event(theirs, "finished", position_ms=1)),
              (b.topic(Channel.EVENTS), event(theirs, "started")),
              (b.topic(Channel.STATUS), status("online", clock_offset_ms=4242)),
              (b.topic(Channel.SYNC), SYNC)]
    for topic, payload in forged:
        broker.pub_as(a, topic, payload)  # the broker takes it (MQTT 3.1.1) and drops it
    # nor through a last will on B's topic, sent when A's connection dies
    will = broker.sub([a.topic(Channel.PLAN)], username=a.name, password=a.token,
                      log=tmp_path / "will.log",
                      extra=("--will-topic", b.topic(Channel.EVENTS), "--will-qos", "1",
                             "--will-payload", json.dumps(event(theirs, "failed"))))
    time.sleep(1)
    if broker.kind == "amqtt":  # refuses the login; Mosquitto drops the will by its ACL
        assert will.poll() not in (None, 0), (tmp_path / "will.log").read_text()
    will.kill()
    will.wait(timeout=10)
    # what A may do, naming B in the payload (the scheduler trusts the topic, not the payload)
    broker.pub_as(a, a.topic(Channel.STATUS), status("online", station_id=str(b.id),
                                                     clock_offset_ms=17))
    broker.pub_as(a, a.topic(Channel.EVENTS), event(theirs, "finished", station_id=str(b.id)))
    broker.pub_as(a, a.topic(Channel.EVENTS), event(mine, "accepted", station_id=str(b.id)))
    broker.wait_playback(mine, "delivered")
    wait_for(lambda: broker.station_row(a)["online"], timeout=10, what="A online")
    assert broker.station_row(a)["clock_offset_ms"] == 17
    row = broker.station_row(b)
    assert (row["online"], row["last_seen_at"], row["clock_offset_ms"]) == (False, None, None)
    assert broker.playback_row(theirs)["status"] == "planned"
    assert broker.playback_row(theirs)["started_at"] is None


def test_logins_that_are_refused(broker: Broker) -> None:
    a, b = broker.station(), broker.station()
    topic = a.topic(Channel.SYNC)
    attempts: dict[str, tuple[str | None, str | None, str]] = {
        # what: (username, password, client id; "" lets the client make a random one)
        "anonymous": (None, None, a.name),
        "anonymous, random client id": (None, None, ""),
        "another station's token": (a.name, b.token, a.name),
        "wrong token": (a.name, a.token + "x", a.name),
        "no password": (a.name, None, a.name),
    }
    # the supervised Mosquitto logs these in under their own station id (B's login in the
    # last one: it may then only touch B's topics, test_a_station_cannot_publish_as_another)
    other_ids = {"client id other than the username": (a.name, a.token, f"{a.name}-x"),
                 "random client id": (a.name, a.token, ""),
                 "another station's login": (b.name, b.token, a.name)}
    if not broker.renames_client_ids:
        attempts |= other_ids
    for what, (username, password, client_id) in attempts.items():
        done = broker.pub(topic, b"{}", username=username, password=password,
                          client_id=client_id)
        assert done.returncode != 0, (what, done)
        assert b"refused" in done.stderr.lower(), (what, done)
    assert broker.can_log_in(a) and broker.can_log_in(b)


def test_no_login_takes_over_another_stations_session(broker: Broker, tmp_path: Path) -> None:
    """B's own connection survives A logging in with B's client id (refused, or renamed A)."""
    a, b = broker.station(), broker.station()
    own = StationClient(broker, b)
    try:
        own.subscribe(Channel.PLAN)
        done = broker.pub(a.topic(Channel.SYNC), b"{}", username=a.name, password=a.token,
                          client_id=b.name)
        assert (done.returncode == 0) == broker.renames_client_ids, done
        time.sleep(1)
        assert not own.disconnected and own.client.is_connected()
    finally:
        own.close()


def _dropped_at_once(proc: subprocess.Popen[bytes], log: Path) -> None:
    """The live connection is dropped and the client's reconnection is refused."""
    try:
        proc.wait(timeout=8)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the connection made with the old token is still up") from None
    assert proc.returncode != 0
    assert "not authori" in log.read_text().lower(), log.read_text()


def test_rotated_and_revoked_tokens_are_refused_at_once(broker: Broker, tmp_path: Path) -> None:
    rotated, revoked = broker.station(), broker.station()
    live = {s.id: broker.sub([s.topic(Channel.PLAN)], username=s.name, password=s.token,
                             log=tmp_path / f"{s.id}.log", extra=("-c",))
            for s in (rotated, revoked)}
    time.sleep(1)  # both connected and subscribed
    assert all(proc.poll() is None for proc in live.values())
    try:
        answer = broker.api.post(f"/stations/{rotated.id}/token")
        assert answer.status_code == 200, answer.text
        new = Station(rotated.id, str(answer.json()["token"]))
        _dropped_at_once(live[rotated.id], tmp_path / f"{rotated.id}.log")
        assert not broker.can_log_in(rotated)
        wait_for(lambda: broker.can_log_in(new), timeout=10, what="the new token to work")

        answer = broker.api.post(f"/stations/{revoked.id}/revoke")
        assert answer.status_code == 200, answer.text
        _dropped_at_once(live[revoked.id], tmp_path / f"{revoked.id}.log")
        assert not broker.can_log_in(revoked)
    finally:
        for proc in live.values():
            _stop(proc)
    # the scheduler still works for everyone else
    other = broker.station()
    pb = broker.playback(other)
    broker.pub_as(other, other.topic(Channel.EVENTS), event(pb, "accepted"))
    broker.wait_playback(pb, "delivered")
