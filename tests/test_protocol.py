"""The protocol module parses strictly: wrong types, naive times and huge numbers are refused."""

from __future__ import annotations

import json

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
    GOOD.replace(b'"type"', b'"clock_uncertainty_ms":-1,"type"'),
    GOOD.replace(b'"type"', b'"clock_uncertainty_ms":2147483648,"type"'),
    GOOD.replace(b'"type"', b'"clock_uncertainty_ms":"3","type"'),
    b"\xff\xfe", b"[]", b"null", b"{}", b'{"v":1', b" " * (protocol.MAX_PAYLOAD_BYTES + 1),
    b"[" * 100_000, b'{"v":1,"at":' * 30_000,
])
def test_malformed_events_are_refused(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        protocol.decode(protocol.Event, payload)


def test_topics_are_parsed_only_when_they_are_ours() -> None:
    assert protocol.parse_station_topic("wardcast/stations/12/events") == ("12", Channel.EVENTS)
    for topic in ("wardcast/stations/12", "wardcast/stations//events", "other/12/events",
                  "wardcast/stations/12/events/x", "wardcast/stations/12/nope"):
        assert protocol.parse_station_topic(topic) is None


def test_an_events_message_is_one_event_or_a_batch() -> None:
    second = GOOD.replace(b"abcdefgh12", b"abcdefgh13").replace(b'"started"', b'"finished"')
    batch = protocol.encode_event_batch([GOOD, second])
    assert batch.startswith(b'{"v":1,"events":[')
    assert [e.event_id for e in protocol.decode_events(batch)] == ["abcdefgh12", "abcdefgh13"]
    assert protocol.decode_events(GOOD) == [protocol.decode(protocol.Event, GOOD)]
    assert protocol.encode_event_batch([GOOD]) == GOOD  # one event goes as it always did


@pytest.mark.parametrize("payload", [
    b'{"v":1,"events":[]}',
    b'{"v":1,"events":{}}',
    b'{"v":1,"events":[' + GOOD + b',{"v":1,"event_id":"x"}]}',  # one bad event: all refused
    b'{"v":1,"events":[' + b",".join([GOOD] * (protocol.MAX_BATCH_EVENTS + 1)) + b"]}",
])
def test_malformed_batches_are_refused_whole(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        protocol.decode_events(payload)


def test_batches_keep_order_and_fit_one_message() -> None:
    small = [(str(n), GOOD) for n in range(250)]
    assert [len(b) for b in protocol.batches(small)] == [100, 100, 50]
    assert [i for b in protocol.batches(small) for i, _ in b] == [str(n) for n in range(250)]
    big = [(str(n), b"x" * 2400) for n in range(100)]  # the largest events an agent can make
    for batch in protocol.batches(big):
        assert len(protocol.encode_event_batch([p for _, p in batch])) <= protocol.MAX_BATCH_BYTES


def test_clock_readings_are_optional_and_bounded_on_status_too() -> None:
    older = b'{"v":1,"state":"online","boot_id":"b","clock_offset_ms":-12}'
    status = protocol.decode(protocol.Status, older)
    assert (status.clock_offset_ms, status.clock_uncertainty_ms) == (-12, None)
    newer = older.replace(b"-12", b'-12,"clock_uncertainty_ms":3')
    assert protocol.decode(protocol.Status, newer).clock_uncertainty_ms == 3
    for bad in (b'"clock_uncertainty_ms":-1', b'"clock_offset_ms":2147483648'):
        with pytest.raises(ProtocolError):
            protocol.decode(protocol.Status, older.replace(b'"clock_offset_ms":-12', bad))



def test_group_topics_name_one_group_each_and_the_fleet() -> None:
    assert protocol.group_topic(12) == "wardcast/groups/12/urgent"
    assert protocol.parse_group_topic(protocol.group_topic(12)) == 12
    for foreign in (protocol.FLEET_TOPIC, "wardcast/groups/+/urgent",
                    "wardcast/groups/012/urgent", "wardcast/groups/12/plan",
                    "wardcast/groups//urgent", "wardcast/stations/12/plan"):
        assert protocol.parse_group_topic(foreign) is None, foreign


def test_an_urgent_start_carries_its_item_and_a_stop_or_cancel_none() -> None:
    now = protocol.utcnow().replace(microsecond=0)  # the wire keeps milliseconds
    item = protocol.UrgentItem(
        bulletin_id=3, title="Cảnh báo lũ", duration_ms=12_000, sha256="a" * 64,
        media_path="/api/v1/media/" + "a" * 64, starts_at=now, play_until=now, repeat=2,
        gap_ms=5000)
    start = protocol.Urgent(broadcast_id=7, action=protocol.UrgentAction.START, sent_at=now,
                            item=item)
    stop = protocol.Urgent(broadcast_id=7, action=protocol.UrgentAction.STOP, sent_at=now)
    assert protocol.decode(protocol.Urgent, protocol.encode(start)) == start
    assert protocol.decode(protocol.Urgent, protocol.encode(stop)) == stop
    for bad in (protocol.encode(stop).replace(b'"stop"', b'"start"'),
                protocol.encode(start).replace(b'"start"', b'"cancel"')):
        with pytest.raises(ProtocolError):
            protocol.decode(protocol.Urgent, bad)


def test_an_event_names_a_playback_by_id_or_by_broadcast_and_repeat() -> None:
    now = protocol.utcnow().replace(microsecond=0)
    by_id = protocol.Event.about(41, event_id="e" * 8, type="started", at=now)
    by_broadcast = protocol.Event.about(protocol.broadcast_key(7, 2), event_id="f" * 8,
                                        type="started", at=now)
    assert (by_id.playback_id, by_id.broadcast_id) == (41, None)
    assert (by_broadcast.playback_id, by_broadcast.broadcast_id,
            by_broadcast.repeat_index) == (None, 7, 2)
    assert by_broadcast.key == protocol.broadcast_key(7, 2) and by_id.key == 41
    for event in (by_id, by_broadcast):
        assert protocol.decode(protocol.Event, protocol.encode(event)) == event
    fields = json.loads(protocol.encode(by_id))
    for bad in ({"playback_id": None, "broadcast_id": 7},  # no repeat
                {"broadcast_id": 7, "repeat_index": 0},  # both ways at once
                {"playback_id": None, "broadcast_id": 7, "repeat_index": 20},  # no such
                {"playback_id": None}):  # neither
        with pytest.raises(ProtocolError):
            protocol.decode(protocol.Event, json.dumps(fields | bad).encode())
    # the keys of broadcasts never meet playback ids, nor each other
    keys = {protocol.broadcast_key(b, k) for b in (1, 2, protocol.DB_INT) for k in range(20)}
    assert len(keys) == 60 and max(keys) < 0
    assert {protocol.broadcast_ref(k) for k in keys} == {
        (b, k) for b in (1, 2, protocol.DB_INT) for k in range(20)}
    assert protocol.broadcast_ref(41) is None


def test_a_broadcasts_plan_item_is_kept_under_the_same_key_as_its_message() -> None:
    now = protocol.utcnow().replace(microsecond=0)
    message = protocol.Urgent(
        broadcast_id=7, action=protocol.UrgentAction.START, sent_at=now,
        item=protocol.UrgentItem(bulletin_id=3, duration_ms=2000, sha256="a" * 64,
                                 media_path="/m", starts_at=now,
                                 play_until=now + protocol.timedelta(minutes=1), repeat=2))
    first, second = message.plan_items()
    row = protocol.PlanItem(playback_id=900, bulletin_id=3, scheduled_at=second.scheduled_at,
                            duration_ms=2000, sha256="a" * 64, media_path="/m",
                            broadcast_id=7, repeat_index=1)
    assert row.keyed().playback_id == second.playback_id != first.playback_id
    plain = row.model_copy(update={"broadcast_id": None, "repeat_index": None})
    assert plain.keyed() is plain  # a timetable's item: its own id
