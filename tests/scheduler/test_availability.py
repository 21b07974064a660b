"""A station's online spells follow its availability messages, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from scheduler.db import Database
from scheduler.migrations import upgrade
from scheduler.stations import service as stations
from scheduler.stations.models import Station, StationSpell
from wardcast.protocol import Status

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


class Clock:
    """The scheduler's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    clock = Clock()
    monkeypatch.setattr(stations, "utcnow", clock)
    yield clock


def _station(session: Session, name: str) -> int:
    station = Station(name=name, ward="P1", timezone="Asia/Ho_Chi_Minh", created_at=T0)
    session.add(station)
    session.flush()
    return station.id


def _status(state: str, boot: str = "b1") -> Status:
    return Status(state=state, boot_id=boot)  # type: ignore[arg-type]


def _spells(session: Session, station_id: int) -> list[tuple[datetime, datetime | None]]:
    return [(s.online_from, s.online_until) for s in session.scalars(
        select(StationSpell).where(StationSpell.station_id == station_id)
        .order_by(StationSpell.online_from))]


def test_a_spell_runs_from_online_to_the_last_time_the_station_was_heard(
        db: Database, clock: Clock) -> None:
    with db.session() as session:
        sid = _station(session, "A")
        stations.record_statuses(session=session, reports=[(sid, _status("online"))])
        clock.now = T0 + timedelta(seconds=30)  # a heartbeat
        stations.record_statuses(session=session, reports=[(sid, _status("online"))])
        clock.now = T0 + timedelta(seconds=95)  # the will, 1.5 keepalives after the link died
        stations.record_statuses(session=session, reports=[(sid, _status("offline"))])
        clock.now = T0 + timedelta(hours=2)
        stations.record_statuses(session=session, reports=[(sid, _status("online", "b2"))])
        assert _spells(session, sid) == [(T0, T0 + timedelta(seconds=30)),
                                         (T0 + timedelta(hours=2), None)]


def test_a_heartbeat_or_a_new_boot_while_online_keeps_one_spell(db: Database,
                                                               clock: Clock) -> None:
    with db.session() as session:
        sid = _station(session, "A")
        for seconds, boot in ((0, "b1"), (30, "b1"), (40, "b2"), (70, "b2")):
            clock.now = T0 + timedelta(seconds=seconds)
            stations.record_statuses(session=session, reports=[(sid, _status("online", boot))])
        # the old boot's will, arriving late, changes nothing
        stations.record_statuses(session=session, reports=[(sid, _status("offline", "b1"))])
        assert _spells(session, sid) == [(T0, None)]


def test_one_batch_may_open_close_and_open_again(db: Database, clock: Clock) -> None:
    with db.session() as session:
        sid, other = _station(session, "A"), _station(session, "B")
        stations.record_statuses(session=session, reports=[(other, _status("online"))])
        clock.now = T0 + timedelta(minutes=1)
        stations.record_statuses(session=session, reports=[
            (sid, _status("online")), (sid, _status("offline")),
            (sid, _status("online", "b2")), (other, _status("offline"))])
        at = T0 + timedelta(minutes=1)
        assert _spells(session, sid) == [(at, at), (at, None)]
        assert _spells(session, other) == [(T0, T0)]


def test_a_revoked_station_goes_offline_at_once(db: Database, clock: Clock) -> None:
    with db.session() as session:
        sid = _station(session, "A")
        stations.record_statuses(session=session, reports=[(sid, _status("online"))])
        clock.now = T0 + timedelta(minutes=5)
        stations.revoke(session=session, station_id=sid)
        assert _spells(session, sid) == [(T0, T0 + timedelta(minutes=5))]


def test_the_migration_opens_a_spell_for_each_station_online_then(database_url: str) -> None:
    database = Database(database_url)
    try:
        upgrade(database.engine, revision="0014")
        with database.engine.begin() as connection:
            for name, online, since in (("on", True, "2026-05-01 06:00:00"),
                                        ("off", False, None)):
                connection.execute(text(
                    "INSERT INTO stations (name, ward, timezone, created_at, online, "
                    "online_since, plan_revision) VALUES (:n, 'P1', 'Asia/Ho_Chi_Minh', "
                    "'2026-04-01 00:00:00', :o, :s, 0)"), {"n": name, "o": online, "s": since})
        upgrade(database.engine)
        with database.session() as session:
            on, off = (session.scalar(select(Station.id).where(Station.name == n))
                       for n in ("on", "off"))
            assert on is not None and off is not None
            assert _spells(session, on) == [(datetime(2026, 5, 1, 6, tzinfo=UTC), None)]
            assert _spells(session, off) == []
    finally:
        database.dispose()


def test_what_the_broker_remembered_is_not_hearing_the_station(db: Database,
                                                               clock: Clock) -> None:
    """After a broker restart: a retained status says online but does not count as heard; the
    station's first own word over the new connection starts its online time again; one still
    silent when every agent would be back is marked offline, its spell ending when it was
    last heard from."""
    with db.session() as session:
        back, silent = _station(session, "back"), _station(session, "silent")
        stations.record_statuses(session=session, reports=[(back, _status("online")),
                                                           (silent, _status("online"))])
        reconnected = T0 + timedelta(minutes=10)
        clock.now = reconnected + timedelta(seconds=1)
        stations.record_statuses(session=session, reports=[], heard_since=reconnected,
                                 replayed=[(back, _status("online")),
                                           (silent, _status("online"))])
        for sid in (back, silent):
            station = session.get(Station, sid)
            assert station is not None
            assert (station.online, station.online_since, station.last_seen_at) == (True, T0, T0)
        clock.now = reconnected + timedelta(seconds=40)
        stations.record_statuses(session=session, reports=[(back, _status("online"))],
                                 heard_since=reconnected)
        station = session.get(Station, back)
        assert station is not None
        assert (station.online_since, station.last_seen_at) == (clock.now, clock.now)
        clock.now = reconnected + timedelta(seconds=50)  # heard again: no new start
        stations.record_statuses(session=session, reports=[(back, _status("online"))],
                                 heard_since=reconnected)
        assert station.online_since == reconnected + timedelta(seconds=40)

        assert stations.mark_unheard_offline(session=session, heard_since=reconnected) == [
            "silent"]
        gone = session.get(Station, silent)
        assert gone is not None and not gone.online
        assert _spells(session, silent) == [(T0, T0)]
        assert _spells(session, back) == [(T0, None)]
        assert stations.mark_unheard_offline(session=session, heard_since=reconnected) == []
