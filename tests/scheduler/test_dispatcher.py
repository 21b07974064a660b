"""The dispatcher's worker: plan pushes go ahead of a backlog; batches keep the rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import insert, select

from scheduler.db import Database
from scheduler.dispatch.client import BrokerLogin, Incoming
from scheduler.dispatch.dispatcher import Dispatcher, DispatchTiming
from scheduler.playbacks import ledger
from scheduler.playbacks.models import PlaybackEvent
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from tests.support.procs import wait_for
from wardcast import protocol
from wardcast.protocol import Channel, EventType

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


class RecordingLink:
    """Stands in for both broker connections: records what the worker publishes and acks, in
    order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.since: datetime | None = None

    def up_since(self) -> datetime | None:
        return self.since

    def publish(self, topic: str, payload: bytes, *, retain: bool = False,
                qos: int = protocol.QOS) -> None:
        self.calls.append(("publish", topic))

    def ack(self, message: Incoming) -> None:
        self.calls.append(("ack", message.topic))

    def open(self) -> None:
        """Nothing to connect."""

    def close(self) -> None:
        """Nothing to disconnect."""

    def service(self, timeout: float = 0.0) -> None:
        """Nothing to read."""

    def flush(self) -> None:
        """Nothing waits."""


def _dispatcher(db: Database) -> tuple[Dispatcher, RecordingLink]:
    login = BrokerLogin(host="127.0.0.1", port=1, username=None, password=None)
    dispatcher = Dispatcher(db=db, login=login, timing=DispatchTiming(
        late_grace=timedelta(minutes=5), horizon=timedelta(hours=48)))
    link = RecordingLink()
    dispatcher.link = dispatcher.sender = link  # type: ignore[assignment]
    return dispatcher, link


def _stations(db: Database, count: int) -> list[int]:
    with db.session() as session:
        stations = [Station(name=f"S{n}", ward="P1", timezone="Asia/Ho_Chi_Minh",
                            created_at=NOW) for n in range(count)]
        session.add_all(stations)
        session.flush()
        return [s.id for s in stations]


def _message(station_id: int, channel: Channel, message: Any, mid: int) -> Incoming:
    return Incoming(mid=mid, qos=1, topic=protocol.station_topic(str(station_id), channel),
                    payload=protocol.encode(message))


def _drain(dispatcher: Dispatcher) -> None:
    dispatcher.inbox.put(None)
    dispatcher._run()  # the worker's loop, on this thread, until the None


def test_plans_are_pushed_before_a_backlog_of_events(db: Database) -> None:
    station, other = _stations(db, 2)
    dispatcher, link = _dispatcher(db)
    for mid in range(1, 301):  # events for playbacks that do not exist: stored, applied to none
        event = protocol.Event(event_id=uuid.uuid4().hex, playback_id=mid,
                               type=EventType.ACCEPTED, at=NOW)
        dispatcher.inbox.put(_message(other, Channel.EVENTS, event, mid))
    dispatcher.push_plans([station])
    _drain(dispatcher)
    plan_topic = protocol.station_topic(str(station), Channel.PLAN)
    assert link.calls[0] == ("publish", plan_topic)
    assert sum(1 for kind, _ in link.calls if kind == "ack") == 300
    assert dispatcher.counters["foreign_events"] == 300 and not dispatcher.counters["errors"]
    with db.session() as session:
        assert len(session.scalars(select(PlaybackEvent.id)).all()) == 300


def test_a_batch_of_statuses_keeps_arrival_order_and_ignores_a_stale_will(db: Database) -> None:
    first, second = _stations(db, 2)
    dispatcher, link = _dispatcher(db)
    hello = protocol.Status(state="online", boot_id="new", at=NOW, clock_offset_ms=7)
    stale_will = protocol.Status(state="offline", boot_id="old")
    bye = protocol.Status(state="offline", boot_id="b1")
    for mid, (sid, status) in enumerate([(first, hello), (first, stale_will),
                                         (second, protocol.Status(state="online",
                                                                  boot_id="b1")),
                                         (second, bye)], 1):
        dispatcher.inbox.put(_message(sid, Channel.STATUS, status, mid))
    sync = protocol.SyncRequest(boot_id="new", sent_at=NOW)
    dispatcher.inbox.put(_message(first, Channel.SYNC, sync, 5))
    dispatcher.inbox.put(Incoming(mid=6, qos=1, topic=protocol.station_topic(
        str(first), Channel.STATUS), payload=b"{not json"))
    _drain(dispatcher)
    with db.session() as session:
        one, two = session.get(Station, first), session.get(Station, second)
        assert one is not None and two is not None
        assert (one.online, one.boot_id, one.clock_offset_ms) == (True, "new", 7)
        assert (two.online, two.boot_id) == (False, "b1")
    assert ("publish", protocol.station_topic(str(first), Channel.PLAN)) in link.calls
    assert sum(1 for kind, _ in link.calls if kind == "ack") == 6  # the bad one too, dropped
    assert dispatcher.counters["dropped"] == 1 and not dispatcher.counters["batch_retries"]


def test_a_retained_status_is_the_brokers_memory_and_a_live_one_is_the_station(
        db: Database) -> None:
    """A status the broker replays on subscribing (retained) sets what the station last said
    but is not hearing it; the station's own status over this connection is."""
    station, = _stations(db, 1)
    dispatcher, link = _dispatcher(db)
    link.since = protocol.utcnow() - timedelta(seconds=3)
    remembered = protocol.Status(state="online", boot_id="b1")
    topic = protocol.station_topic(str(station), Channel.STATUS)
    dispatcher.inbox.put(Incoming(mid=1, qos=1, topic=topic, payload=protocol.encode(remembered),
                                  retained=True))
    _drain(dispatcher)
    with db.session() as session:
        row = session.get(Station, station)
        assert row is not None and row.online and row.last_seen_at is None
    dispatcher.inbox.put(_message(station, Channel.STATUS, remembered, 2))
    _drain(dispatcher)
    with db.session() as session:
        row = session.get(Station, station)
        assert row is not None and row.last_seen_at is not None
        assert row.last_seen_at >= link.since and row.online_since == row.last_seen_at


def test_a_failed_plan_push_is_tried_again_and_the_worker_goes_on(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    station, other = _stations(db, 2)
    dispatcher, link = _dispatcher(db)
    real, calls = dispatcher._publish_plans, []

    def database_away_once(ids: frozenset[int]) -> None:
        calls.append(ids)
        if len(calls) == 1:
            raise RuntimeError("the database is away")
        real(ids)

    monkeypatch.setattr(dispatcher, "_publish_plans", database_away_once)
    plan_topic = protocol.station_topic(str(station), Channel.PLAN)
    event = protocol.Event(event_id=uuid.uuid4().hex, playback_id=1, type=EventType.ACCEPTED,
                           at=NOW)
    dispatcher.push_plans([station])
    dispatcher.inbox.put(_message(other, Channel.EVENTS, event, 1))
    dispatcher._thread.start()
    try:
        wait_for(lambda: dispatcher.counters["foreign_events"] == 1, timeout=10,
                 what="the event after the failed push")
        assert ("publish", plan_topic) not in link.calls and dispatcher.counters["errors"] == 1
        # the next message that arrives brings the push round again
        status = protocol.Status(state="online", boot_id="b", at=NOW)
        dispatcher.inbox.put(_message(other, Channel.STATUS, status, 2))
        wait_for(lambda: ("publish", plan_topic) in link.calls, timeout=10,
                 what="the plan pushed on the second try")
    finally:
        dispatcher.inbox.put(None)
        dispatcher._thread.join(timeout=10)
    assert not dispatcher._thread.is_alive() and calls == [frozenset({station})] * 2


def test_a_batch_message_stores_each_event_and_is_acked_once(db: Database) -> None:
    _, other = _stations(db, 2)
    dispatcher, link = _dispatcher(db)
    events = [protocol.Event(event_id=uuid.uuid4().hex, playback_id=n, type=EventType.ACCEPTED,
                             at=NOW) for n in range(1, 151)]
    payloads = [protocol.encode(e) for e in events]
    topic = protocol.station_topic(str(other), Channel.EVENTS)
    for mid, chunk in enumerate(protocol.batches([(e.event_id, p) for e, p
                                                  in zip(events, payloads, strict=True)]), 1):
        batch = protocol.encode_event_batch([p for _, p in chunk])
        dispatcher.inbox.put(Incoming(mid=mid, qos=1, topic=topic, payload=batch))
    # a batch with one malformed event is dropped whole, and acked so the broker forgets it
    bad = protocol.encode_event_batch([payloads[0], b'{"v": 1, "event_id": "x"}'])
    dispatcher.inbox.put(Incoming(mid=9, qos=1, topic=topic, payload=bad))
    _drain(dispatcher)
    assert [kind for kind, _ in link.calls].count("ack") == 3  # 150 events in 2 messages + bad
    assert dispatcher.counters["events"] == 150 and dispatcher.counters["dropped"] == 1
    assert not dispatcher.counters["batch_retries"] and not dispatcher.counters["errors"]
    with db.session() as session:
        stored = set(session.scalars(select(PlaybackEvent.event_id)).all())
    assert stored == {e.event_id for e in events}
    assert ("publish", protocol.station_topic(str(other), Channel.ACK)) in link.calls


def test_a_batch_another_replica_stored_part_of_is_taken_message_by_message(
        db: Database) -> None:
    """Another replica commits one of the batch's events first: the batch fails, then each
    message is stored alone (a batch of one), where that event is a duplicate."""
    [station] = _stations(db, 1)
    dispatcher, link = _dispatcher(db)
    events = [protocol.Event(event_id=uuid.uuid4().hex, playback_id=n, type=EventType.ACCEPTED,
                             at=NOW) for n in (1, 2, 3)]
    for mid, reported in enumerate(events, 1):
        dispatcher.inbox.put(_message(station, Channel.EVENTS, reported, mid))
    raced: list[bool] = []

    def other_replica(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO playback_events") and not raced:
            raced.append(True)
            with db.engine.begin() as other:
                other.execute(insert(PlaybackEvent), [ledger._event_row(
                    station, events[1], received=NOW, applied=False)])

    sa_event.listen(db.engine, "before_cursor_execute", other_replica)
    try:
        _drain(dispatcher)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", other_replica)
    assert raced and dispatcher.counters["batch_retries"] == 1
    assert (dispatcher.counters["events"], dispatcher.counters["duplicates"]) == (2, 1)
    assert not dispatcher.counters["errors"]
    assert [topic for kind, topic in link.calls if kind == "ack"] == [
        protocol.station_topic(str(station), Channel.EVENTS)] * 3
    with db.session() as session:
        stored = session.scalars(select(PlaybackEvent.event_id)).all()
    assert sorted(stored) == sorted(e.event_id for e in events)


def test_clock_readings_are_stored_with_their_uncertainty(db: Database) -> None:
    newer, mixed = _stations(db, 2)
    dispatcher, _ = _dispatcher(db)
    hello = protocol.Status(state="online", boot_id="b", clock_offset_ms=12,
                            clock_uncertainty_ms=3)
    measured = protocol.Event(event_id=uuid.uuid4().hex, playback_id=1, type=EventType.ACCEPTED,
                              at=NOW, clock_offset_ms=40, clock_uncertainty_ms=4)
    # then the station's agent is replaced by an older one, which sends no uncertainty
    older = protocol.Event(event_id=uuid.uuid4().hex, playback_id=2, type=EventType.ACCEPTED,
                           at=NOW, clock_offset_ms=-7)

    def clocks() -> dict[int, tuple[int | None, int | None]]:
        with db.session() as session:
            return {s.id: (s.clock_offset_ms, s.clock_uncertainty_ms)
                    for s in session.scalars(select(Station))}

    dispatcher.inbox.put(_message(newer, Channel.STATUS, hello, 1))
    dispatcher.inbox.put(_message(mixed, Channel.EVENTS, measured, 2))
    _drain(dispatcher)
    assert clocks() == {newer: (12, 3), mixed: (40, 4)}
    dispatcher.inbox.put(_message(mixed, Channel.EVENTS, older, 3))
    _drain(dispatcher)
    assert clocks() == {newer: (12, 3), mixed: (-7, None)}  # no stale uncertainty kept
    with db.session() as session:
        events = {e.event_id: (e.clock_offset_ms, e.clock_uncertainty_ms)
                  for e in session.scalars(select(PlaybackEvent))}
        # the path of one event at a time (a batch that failed is taken apart)
        stations.touch(session=session, station_id=newer, clock=stations.clock_reading(older))
    assert events == {measured.event_id: (40, 4), older.event_id: (-7, None)}
    assert clocks()[newer] == (-7, None)
