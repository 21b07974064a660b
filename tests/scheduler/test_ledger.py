"""Event ingestion is idempotent and final states never change; the watchdog is careful."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.db import Database
from scheduler.migrations import upgrade
from scheduler.playbacks import ledger, reasons
from scheduler.playbacks.models import Playback, PlaybackEvent, PlaybackStatus
from scheduler.stations.models import Station
from wardcast.protocol import Event, EventType

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def _station(session: Session, name: str, *, online: bool) -> Station:
    station = Station(name=name, ward="P1", timezone="Asia/Ho_Chi_Minh", created_at=NOW,
                      online=online)
    session.add(station)
    session.flush()
    return station


def _playback(session: Session, station: Station, at: datetime, *,
              created: datetime = NOW - timedelta(days=1)) -> Playback:
    bulletin = Bulletin(title="t", language="vi", status="approved", duration_ms=1000,
                        sha256="a" * 64, size_bytes=1, loudness_lufs=-16, true_peak_dbtp=-2,
                        source_loudness_lufs=-20, source_duration_ms=1000, source_format="wav",
                        normalization_type="linear", original_sha256="b" * 64,
                        original_filename="x.wav", created_at=NOW)
    session.add(bulletin)
    session.flush()
    playback = Playback(station_id=station.id, bulletin_id=bulletin.id, scheduled_at=at,
                        priority="normal", status="planned", created_at=created,
                        updated_at=created)
    session.add(playback)
    session.flush()
    return playback


def _event(playback_id: int, kind: EventType, **extra: object) -> Event:
    return Event(event_id=uuid.uuid4().hex, playback_id=playback_id, type=kind,
                 at=NOW + timedelta(milliseconds=12), **extra)  # type: ignore[arg-type]


def _apply(session: Session, station_id: int, event: Event) -> ledger.Outcome:
    """Record one event (a batch of one, as the dispatcher takes a message alone)."""
    [outcome] = ledger.apply_events(session=session, reports=[(station_id, event)])
    return outcome


def test_duplicates_change_nothing_and_finals_are_final(db: Database) -> None:
    with db.session() as session:
        station = _station(session, "A", online=True)
        playback = _playback(session, station, NOW)
        started = _event(playback.id, EventType.STARTED, clock_offset_ms=-3)
        finished = _event(playback.id, EventType.FINISHED, position_ms=1000)
        assert _apply(session, station.id, started) == "stored"
        assert _apply(session, station.id, finished) == "stored"
        assert _apply(session, station.id, started) == "duplicate"
        late = _event(playback.id, EventType.FAILED, reason="decoder crashed")
        assert _apply(session, station.id, late) == "stored"
        session.refresh(playback)
        assert playback.status == "played"
        assert playback.started_at == started.at and playback.position_ms == 1000
        assert playback.clock_offset_ms == -3
        assert session.scalar(select(func.count()).select_from(PlaybackEvent)) == 3


def test_an_event_never_moves_a_playback_backwards(db: Database) -> None:
    with db.session() as session:
        station = _station(session, "A", online=True)
        playback = _playback(session, station, NOW)
        for kind in (EventType.STARTED, EventType.DOWNLOADED, EventType.ACCEPTED):
            _apply(session, station.id, _event(playback.id, kind))
        session.refresh(playback)
        assert playback.status == "playing"


def test_a_station_cannot_report_for_another(db: Database) -> None:
    with db.session() as session:
        mine, other = _station(session, "A", online=True), _station(session, "B", online=True)
        playback = _playback(session, other, NOW)
        assert _apply(session, mine.id, _event(playback.id, EventType.FINISHED)) == "foreign"
        session.refresh(playback)
        assert playback.status == "planned"


def test_watchdog_waits_longer_for_offline_stations(db: Database) -> None:
    grace, offline_grace = timedelta(seconds=30), timedelta(hours=6)
    with db.session() as session:
        up, down = _station(session, "up", online=True), _station(session, "down", online=False)
        slot = NOW - timedelta(minutes=5)
        p_up, p_down = _playback(session, up, slot), _playback(session, down, slot)
        # it went offline after its playbacks were made: it may hold the plan and play offline
        down.last_seen_at = slot - timedelta(minutes=30)
        p_future = _playback(session, up, NOW + timedelta(minutes=5))
        assert ledger.watchdog(session=session, now=NOW, grace=grace,
                               offline_grace=offline_grace) == 1
        for p in (p_up, p_down, p_future):
            session.refresh(p)
        assert (p_up.status, p_down.status, p_future.status) == ("missed", "planned", "planned")
        assert ledger.watchdog(session=session, now=NOW + timedelta(hours=7), grace=grace,
                               offline_grace=offline_grace) == 2
        session.refresh(p_down)
        assert (p_down.status, reasons.code(p_down.reason)) == ("missed", "offline_no_report")


def test_a_station_just_back_online_gets_time_to_report(db: Database) -> None:
    grace, offline_grace = timedelta(seconds=30), timedelta(hours=6)
    with db.session() as session:
        station = _station(session, "A", online=True)
        station.online_since = NOW - timedelta(seconds=5)
        past = _playback(session, station, NOW - timedelta(minutes=10))
        assert ledger.watchdog(session=session, now=NOW, grace=grace,
                               offline_grace=offline_grace) == 0
        _apply(session, station.id, _event(past.id, EventType.STARTED))
        later = NOW + timedelta(seconds=40)
        assert ledger.watchdog(session=session, now=later, grace=grace,
                               offline_grace=offline_grace) == 0
        session.refresh(past)
        assert past.status == "playing"
        unreported = _playback(session, station, NOW - timedelta(minutes=9))
        assert ledger.watchdog(session=session, now=later, grace=grace,
                               offline_grace=offline_grace) == 1
        session.refresh(unreported)
        assert unreported.status == "missed"


def test_a_station_not_heard_since_the_broker_came_back_is_not_called_missed(
        db: Database) -> None:
    """The ledger says online (a broker that died sent no will), but nothing was heard from
    the station over the scheduler's new connection: it may be playing from its plan."""
    grace, offline_grace = timedelta(seconds=30), timedelta(hours=6)
    reconnected = NOW - timedelta(minutes=2)
    with db.session() as session:
        station = _station(session, "A", online=True)
        station.online_since = station.last_seen_at = NOW - timedelta(hours=1)
        slot = _playback(session, station, NOW - timedelta(minutes=5))
        assert ledger.watchdog(session=session, now=NOW, grace=grace,
                               offline_grace=offline_grace, heard_since=reconnected) == 0
        session.refresh(slot)
        assert slot.status == "planned"
        station.last_seen_at = reconnected + timedelta(seconds=1)  # its heartbeat, say
        # the slot was due before the connection: what the agent sent as it came back may
        # have been lost with the broker's session, and waits for its resend
        recovery = timedelta(minutes=3)
        assert ledger.watchdog(session=session, now=NOW, grace=grace,
                               offline_grace=offline_grace, heard_since=reconnected,
                               recovery=recovery) == 0
        assert ledger.watchdog(session=session, now=reconnected + recovery, grace=grace,
                               offline_grace=offline_grace, heard_since=reconnected,
                               recovery=recovery) == 1
        session.refresh(slot)
        assert (slot.status, reasons.code(slot.reason)) == ("missed", "no_start_reported")


def test_migrations_match_the_models(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import scheduler.models  # noqa: F401
    from scheduler.db import Base

    database = Database(database_url)
    upgrade(database.engine)
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    database.dispose()
    assert diff == []


def test_a_batch_follows_the_same_rules_as_single_events(db: Database) -> None:
    with db.session() as session:
        station, other = _station(session, "A", online=True), _station(session, "B", online=True)
        playback, theirs = _playback(session, station, NOW), _playback(session, other, NOW)
        earlier = _event(playback.id, EventType.ACCEPTED)
        assert _apply(session, station.id, earlier) == "stored"
        started = _event(playback.id, EventType.STARTED, clock_offset_ms=-3)
        finished = _event(playback.id, EventType.FINISHED, position_ms=1000)
        late = _event(playback.id, EventType.FAILED, reason="decoder crashed")
        foreign = _event(theirs.id, EventType.FINISHED)
        reports = [(station.id, e) for e in (earlier, started, finished, started, late)]
        outcomes = ledger.apply_events(session=session,
                                       reports=[*reports, (station.id, foreign)])
        assert outcomes == ["duplicate", "stored", "stored", "duplicate", "stored", "foreign"]
        session.refresh(playback)
        session.refresh(theirs)
        assert (playback.status, playback.reason) == ("played", "played to the end")
        assert playback.started_at == started.at and playback.position_ms == 1000
        assert playback.clock_offset_ms == -3 and theirs.status == "planned"
        applied = dict(session.execute(select(PlaybackEvent.event_id, PlaybackEvent.applied)).all())
        assert applied == {earlier.event_id: True, started.event_id: True,
                           finished.event_id: True, late.event_id: False,
                           foreign.event_id: False}


def test_a_batch_moves_many_playbacks_at_once_and_never_a_final_one(db: Database) -> None:
    # many playbacks with the same change set are one executemany: it must run, not fall back
    with db.session() as session:
        stations = [_station(session, f"S{n}", online=True) for n in range(3)]
        playbacks = [_playback(session, s, NOW) for s in stations]
        reports = [(s.id, _event(p.id, EventType.STARTED)) for s, p in zip(stations, playbacks,
                                                                           strict=True)]
        assert ledger.apply_events(session=session, reports=reports) == ["stored"] * 3
        # a final state written between the batch's read and its write is never overwritten
        session.execute(update(Playback).where(Playback.id == playbacks[0].id)
                        .values(status=PlaybackStatus.INTERRUPTED.value))
        ledger._update_playbacks(session, {p.id: {"status": "played", "updated_at": NOW}
                                           for p in playbacks})
        states = dict(session.execute(select(Playback.id, Playback.status)).all())
    assert states == {playbacks[0].id: "interrupted", playbacks[1].id: "played",
                      playbacks[2].id: "played"}


def test_a_plan_that_never_reached_an_offline_station_is_missed_at_the_grace(
        db: Database) -> None:
    grace, offline_grace = timedelta(seconds=30), timedelta(hours=6)
    slot = NOW - timedelta(minutes=5)
    made = slot - timedelta(hours=2)
    with db.session() as session:
        never = _station(session, "never connected", online=False)
        gone = _station(session, "gone before the plan", online=False)
        gone.last_seen_at = made - timedelta(hours=1, microseconds=250)
        after = _station(session, "gone after the plan", online=False)
        after.last_seen_at = made + timedelta(minutes=1)
        p_never, p_gone, p_after = (_playback(session, s, slot, created=made)
                                    for s in (never, gone, after))
        # the agent accepted it (the plan did reach it, e.g. before the station was moved)
        p_accepted = _playback(session, gone, slot + timedelta(minutes=1), created=made)
        p_accepted.status = PlaybackStatus.DELIVERED.value
        p_soon = _playback(session, never, NOW - timedelta(seconds=10), created=made)
        assert ledger.watchdog(session=session, now=NOW, grace=grace,
                               offline_grace=offline_grace) == 2
        for p in (p_never, p_gone, p_after, p_accepted, p_soon):
            session.refresh(p)
        assert (p_never.status, p_never.reason) == (
            "missed", "plan_not_delivered: the plan never reached the station; never connected")
        assert (p_gone.status, p_gone.reason) == (
            "missed", "plan_not_delivered: the plan never reached the station; "
                      "offline since 2026-11-28T02:54:59Z")
        assert reasons.offline_since(p_gone.reason) == datetime(2026, 11, 28, 2, 54, 59,
                                                                tzinfo=UTC)
        # uncertain: it may be playing from a plan it holds, so the offline grace holds
        assert [p.status for p in (p_after, p_accepted, p_soon)] == ["planned", "delivered",
                                                                      "planned"]
        assert ledger.watchdog(session=session, now=NOW + grace, grace=grace,
                               offline_grace=offline_grace) == 1
        session.refresh(p_soon)
        assert reasons.code(p_soon.reason) == "plan_not_delivered"
        assert ledger.watchdog(session=session, now=NOW + timedelta(hours=7), grace=grace,
                               offline_grace=offline_grace) == 2
        for p in (p_after, p_accepted):
            session.refresh(p)
            assert (p.status, reasons.code(p.reason)) == ("missed", "offline_no_report")


def test_an_accepted_plan_is_not_declared_undelivered(db: Database) -> None:
    # an `accepted` committed between the watchdog's read and its write wins
    with db.session() as session:
        station = _station(session, "A", online=False)
        playback = _playback(session, station, NOW - timedelta(minutes=5))
        playback.status = PlaybackStatus.DELIVERED.value
        session.flush()
        assert ledger._miss(session, {playback.id: reasons.plan_not_delivered(None)},
                            among=(PlaybackStatus.PLANNED.value,), now=NOW) == 0
        session.refresh(playback)
        assert playback.status == "delivered"


def test_a_late_skip_is_missed_with_the_agents_reason_a_decision_stays_skipped(
        db: Database) -> None:
    with db.session() as session:
        station = _station(session, "A", online=True)
        one, two, three, four = (_playback(session, station, NOW + timedelta(minutes=n))
                                 for n in range(4))
        _apply(session, station.id, _event(one.id, EventType.SKIPPED, reason="late"))
        _apply(session, station.id, _event(two.id, EventType.SKIPPED, reason="quiet_hours"))
        ledger.apply_events(session=session, reports=[
            (station.id, _event(three.id, EventType.ACCEPTED)),
            (station.id, _event(three.id, EventType.SKIPPED, reason="late")),
            (station.id, _event(four.id, EventType.SKIPPED, reason="cancelled by operator"))])
        session.expire_all()
        assert [(p.status, p.reason) for p in (one, two, three, four)] == [
            ("missed", "late"), ("skipped", "quiet_hours"), ("missed", "late"),
            ("skipped", "cancelled by operator")]
        assert one.finished_at == NOW + timedelta(milliseconds=12)
