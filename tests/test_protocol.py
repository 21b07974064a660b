"""The protocol module parses strictly: wrong types, naive times and huge numbers are refused."""

from __future__ import annotations

import pytest

from wardcast import protocol
from wardcast.protocol import Channel, ProtocolError

GOOD = (b'{"v":1,"event_id":"abcdefgh12","playback_id":3,"type":"started",'
        b'"at":"2026-11-28T10:00:00.000Z"}')


def test_a_good_event_round_trips() -> None:
    event = protocol.decode(protocol.Event, GOOD)
    assert protocol.decode(protocol.Event, protocol.encode(event)) == event
    assert protocol.encode(event).count(b'"at":"2026-11-28T10:00:00.000Z"') == 1


@pytest.mark.parametrize("payload", [
    GOOD.replace(b'"playback_id":3', b'"playback_id":"3"'),
    GOOD.replace(b'"2026-11-28T10:00:00.000Z"', b"1764309600"),
    GOOD.replace(b'"2026-11-28T10:00:00.000Z"', b'"2026-11-28T10:00:00"'),
    GOOD.replace(b'"playback_id":3', b'"playback_id":' + b"9" * 5000),
    GOOD.replace(b'"playback_id":3', b'"playback_id":1099511627776'),
    GOOD.replace(b'"started"', b'"exploded"'),
    b"\xff\xfe", b"[]", b"null", b"{}", b'{"v":1', b" " * (protocol.MAX_PAYLOAD_BYTES + 1),
])
def test_malformed_events_are_refused(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        protocol.decode(protocol.Event, payload)


def test_topics_are_parsed_only_when_they_are_ours() -> None:
    assert protocol.parse_station_topic("wardcast/stations/12/events") == ("12", Channel.EVENTS)
    for topic in ("wardcast/stations/12", "wardcast/stations//events", "other/12/events",
                  "wardcast/stations/12/events/x", "wardcast/stations/12/nope"):
        assert protocol.parse_station_topic(topic) is None
