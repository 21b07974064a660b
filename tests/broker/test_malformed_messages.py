"""Malformed agent messages, sent with a station's valid login on its own topics, are dropped
and counted one by one, and change nothing: the next valid event is ingested as usual.

Real processes (`wardcast serve` on Mosquitto and on the embedded broker, mosquitto_pub); the
count is read from the scheduler's log ("dropped message on <topic>: <why>").
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.broker.conftest import Broker, event, status
from tests.support.procs import wait_for
from wardcast.protocol import MAX_PAYLOAD_BYTES, Channel

pytestmark = pytest.mark.e2e

NAIVE = "2026-11-28T06:00:00.000"


def _corpus(own: int, foreign: int) -> list[tuple[Channel, bytes]]:
    """(channel, payload) pairs that must each be dropped; `own` is the sender's playback."""
    def js(value: object) -> bytes:
        return json.dumps(value).encode()

    valid = event(own, "started")
    items: list[tuple[Channel, bytes]] = []
    for channel in (Channel.EVENTS, Channel.STATUS, Channel.SYNC):
        items += [
            (channel, b"not json at all"),
            (channel, b"\xff\xfe{\"v\": 1}\xc3\x28"),  # invalid UTF-8
            (channel, b""),  # empty
            (channel, js([valid])),  # a JSON array
            (channel, js("a string")),
            (channel, b"{\"v\": 1, \"type\": \"started\""),  # cut short
            (channel, js({"v": 1})),  # every required field missing
            (channel, b"{\"playback_id\": " + b"9" * 5000 + b"}"),  # over Python's int limit
            (channel, b"[" * 100_000),  # nested past Python's recursion limit
            (channel, b"{\"v\": 1, \"events\": " + b"[" * 50_000),
        ]
    items += [
        # events
        (Channel.EVENTS, js({k: v for k, v in valid.items() if k != "playback_id"})),
        (Channel.EVENTS, js({k: v for k, v in valid.items() if k != "at"})),
        (Channel.EVENTS, js({**valid, "playback_id": "one"})),
        (Channel.EVENTS, js({**valid, "playback_id": [own]})),
        (Channel.EVENTS, js({**valid, "at": {"when": "now"}})),
        (Channel.EVENTS, js({**valid, "at": NAIVE})),
        (Channel.EVENTS, js({**valid, "at": "yesterday"})),
        (Channel.EVENTS, js({**valid, "type": "exploded"})),
        (Channel.EVENTS, js({**valid, "event_id": "short"})),
        (Channel.EVENTS, js({**valid, "event_id": None})),
        (Channel.EVENTS, js({**valid, "reason": "x" * 501})),
        (Channel.EVENTS, js({**valid, "playback_id": 10**30})),
        (Channel.EVENTS, js({**valid, "playback_id": 2**40})),
        (Channel.EVENTS, js({**valid, "position_ms": 2**63})),
        (Channel.EVENTS, js({**valid, "clock_offset_ms": -(2**70)})),
        (Channel.EVENTS, js({**valid, "padding": "x" * (MAX_PAYLOAD_BYTES + 1)})),
        # batches: one bad event drops the whole message; empty, over 100, not a list
        (Channel.EVENTS, js({"v": 1, "events": [valid, {**valid, "at": NAIVE}]})),
        (Channel.EVENTS, js({"v": 1, "events": [valid, {**valid, "playback_id": 2**40}]})),
        (Channel.EVENTS, js({"v": 1, "events": []})),
        (Channel.EVENTS, js({"v": 1, "events": [valid] * 101})),
        (Channel.EVENTS, js({"v": 1, "events": valid})),
        # statuses
        (Channel.STATUS, js(status("dancing"))),
        (Channel.STATUS, js({k: v for k, v in status().items() if k != "boot_id"})),
        (Channel.STATUS, js(status(at=NAIVE))),
        (Channel.STATUS, js(status(clock_offset_ms="fast"))),
        (Channel.STATUS, js(status(clock_offset_ms=10**20))),
        (Channel.STATUS, js(status(now_playing=2**64))),
        (Channel.STATUS, js({**status(), "padding": "x" * (MAX_PAYLOAD_BYTES + 1)})),
        # sync requests
        (Channel.SYNC, js({"v": 1, "boot_id": "b", "sent_at": NAIVE})),
        (Channel.SYNC, js({"v": 1, "boot_id": 7, "sent_at": "2026-11-28T06:00:00.000Z"})),
        (Channel.SYNC, js({"v": 10**400, "boot_id": "b", "sent_at": "2026-11-28T06:00:00.000Z"})),
    ]
    assert foreign != own
    return items


def test_malformed_messages_are_dropped_counted_and_change_nothing(broker: Broker) -> None:
    sender, other = broker.station(), broker.station()
    own, foreign = broker.playback(sender), broker.playback(other)
    before = {pb: broker.playback_row(pb) for pb in (own, foreign)}
    corpus = _corpus(own, foreign)
    for channel, payload in corpus:
        broker.pub_as(sender, sender.topic(channel), payload)
    # well-formed but not the sender's: kept as evidence, applied to nothing
    broker.pub_as(sender, sender.topic(Channel.EVENTS), event(foreign, "finished"))
    broker.pub_as(sender, sender.topic(Channel.EVENTS),
                  event(foreign, "failed", station_id=str(other.id)))

    prefix = f"dropped message on wardcast/stations/{sender.id}/"

    def dropped() -> list[str]:
        assert broker.server.proc is not None
        return [line for line in broker.server.proc.output().splitlines() if prefix in line]

    wait_for(lambda: len(dropped()) >= len(corpus), timeout=30, what="every message dropped")
    # a valid event after the corpus is still ingested
    broker.pub_as(sender, sender.topic(Channel.EVENTS), event(own, "accepted"))
    broker.wait_playback(own, "delivered")

    lines = dropped()
    assert len(lines) == len(corpus), "\n".join(lines)
    per_channel = {c: sum(1 for ch, _ in corpus if ch is c) for c in Channel}
    for channel, count in per_channel.items():
        assert sum(f"/{channel.value}:" in line for line in lines) == count, channel
    output = broker.server.proc.output() if broker.server.proc else ""
    assert "dispatcher failed" not in output
    assert re.search(rf"station {sender.id} reported playback {foreign}, which is not its own",
                     output)
    # nothing else changed
    after_own = broker.playback_row(own)
    assert {k: v for k, v in after_own.items() if k != "status"} == {
        k: v for k, v in before[own].items() if k != "status"}
    assert broker.playback_row(foreign) == before[foreign]
    for station in (sender, other):
        row = broker.station_row(station)
        assert (row["online"], row["clock_offset_ms"], row["now_playing"]) == (False, None, None)
    assert broker.station_row(other)["last_seen_at"] is None
    assert broker.server.healthy()
    # and counted where an operator looks
    ingested = httpx.get(f"{broker.server.base}/healthz", timeout=5).json()["ingested"]
    assert (ingested["dropped"], ingested["foreign_events"]) == (len(corpus), 2), ingested


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


@pytest.mark.parametrize("mib", [1, 20])
@pytest.mark.parametrize("channel", [Channel.EVENTS, Channel.STATUS])
def test_a_packet_over_the_protocols_bound_is_refused_by_the_broker(
        broker: Broker, channel: Channel, mib: int) -> None:
    """A station's 1 MB or 20 MB publish on its own topic (retained, for status) is not
    taken: the broker closes the connection before it is acknowledged, keeps none of it and
    passes none of it on (a 100 MB one had been acknowledged, and 10 MB kept retained)."""
    sender = broker.station()
    server = broker.server.proc
    assert server is not None and server.popen is not None
    before = _rss_kib(server.popen.pid)
    huge = b"x" * (mib * 1024 * 1024)
    extra = ["-r"] if channel is Channel.STATUS else []
    done = subprocess.run(
        ["mosquitto_pub", *broker._login(sender.name, sender.token, sender.name),
         "-t", sender.topic(channel), "-s", *extra], input=huge, capture_output=True,
        timeout=60)
    assert done.returncode != 0, done  # no PUBACK: the publish was not accepted
    # the scheduler (and the amqtt broker inside it) did not take the megabytes in
    assert _rss_kib(server.popen.pid) - before < 10 * 1024
    broker.pub_as(sender, sender.topic(Channel.STATUS), status())
    wait_for(lambda: bool(broker.station_row(sender)["online"]), timeout=15,
             what="the station's next, normal status")
    assert broker.server.healthy()
    # had the broker taken it, it would have reached the scheduler (and been dropped there)
    assert f"dropped message on {sender.topic(channel)}" not in server.output()
