"""Kept report tallies, on SQLite and PostgreSQL: after each kind of change to the ledger, made
without a new fill, the report is still exactly the one counted live from the ledger; a new
fill makes the kept rows count again; a change of time zone or cut-off voids them; the fill
waits for a writer that saw the old horizon; and the hot path bumps no generation."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from scheduler import jobs
from scheduler.bulletins.models import Bulletin
from scheduler.config import Settings
from scheduler.db import Database, UtcDateTime
from scheduler.planning import scheduling
from scheduler.playbacks import ledger
from scheduler.playbacks.models import Playback
from scheduler.reports import periods, service
from scheduler.reports.cutoffs import Cutoffs
from scheduler.reports.kept import fill, horizon, read
from scheduler.reports.kept.models import (
    Generation,
    Horizon,
    Kept,
    KeptBulletins,
    KeptCounted,
    KeptUptime,
    ScopeBulletins,
)
from scheduler.reports.kept.months import Months
from scheduler.reports.periods import Period
from scheduler.runtime import Runtime
from scheduler.stations import service as stations
from scheduler.stations.models import StationSpell
from scheduler.timetables.schemas import TimetableCreate
from scheduler.users import service as users
from tests.scheduler.report_scenario import local
from tests.support.clock import Clock
from wardcast.protocol import Event, EventType

ZONE = "Asia/Ho_Chi_Minh"
NOW = local(date(2026, 6, 20), 12)  # the current tally month began on 15 June
HORIZON = local(date(2026, 6, 15), 0)
WARD_A, WARD_B = "Phường Tân Lợi", "Phường Ea Tam"
FIRST_DAY, DAYS = date(2026, 1, 1), 170  # to 19 June


def _periods() -> list[Period]:
    cutoffs = Cutoffs()
    return [periods.named("2026-H1", timezone=ZONE, cutoffs=cutoffs),  # only whole months
            periods.between(date(2026, 1, 3), date(2026, 6, 19), timezone=ZONE),  # and edges
            periods.between(date(2026, 3, 20), date(2026, 4, 30), timezone=ZONE)]


@pytest.fixture
def ids(db: Database, clock: Clock) -> dict[str, int]:
    """Three stations in two wards and half a year of their playbacks, written as rows."""
    clock.at(local(date(2025, 12, 1), 8))
    with db.session() as session:
        found = {key: stations.register(session=session, name=name, ward=ward,
                                        timezone=ZONE)[0].id
                 for key, name, ward in (("s1", "Trạm 1", WARD_A), ("s2", "Trạm 2", WARD_A),
                                         ("s3", "Trạm 3", WARD_B))}
        found |= {key: _bulletin(session, language, category)
                  for key, language, category in (("vi", "vi", "y-te"), ("rad", "rad", None),
                                                  ("alert", "vi", "phong-chong-thien-tai"))}
        found["admin"] = users.create_user(session=session, username="kept-admin",
                                           password="password-123", role="admin").id
        rows = [_row(found, sid, day, hour, n)
                for n, (day, hour, sid) in enumerate(
                    (FIRST_DAY + timedelta(days=d), hour, found[s])
                    for d in range(DAYS) for hour in (6, 18) for s in ("s1", "s2", "s3"))]
        session.execute(insert(Playback), rows)
        session.execute(insert(StationSpell), _spells(found))
    return found


def _spells(found: dict[str, int]) -> list[dict[str, Any]]:
    """Online spells across month boundaries, gaps of equal length (the earlier is the
    longest outage), one still open; Trạm 3 never online."""
    d = date
    s1 = [(local(d(2025, 12, 1), 8), local(d(2026, 1, 20), 10)),
          (local(d(2026, 1, 21), 6), local(d(2026, 3, 14), 23)),
          (local(d(2026, 3, 16), 2), local(d(2026, 6, 10), 12)),
          (local(d(2026, 6, 11), 0), None)]
    s2 = [(local(d(2026, 1, 1), 0), local(d(2026, 2, 1), 0)),
          (local(d(2026, 2, 2), 0), local(d(2026, 3, 1), 0)),
          (local(d(2026, 3, 2), 0), local(d(2026, 4, 15), 0)),
          (local(d(2026, 4, 16), 0), local(d(2026, 6, 16), 0)),
          (local(d(2026, 6, 17), 0), local(d(2026, 6, 19), 0))]
    return [{"station_id": found[key], "online_from": start, "online_until": until}
            for key, spells in (("s1", s1), ("s2", s2)) for start, until in spells]


def _bulletin(session: Session, language: str, category: str | None) -> int:
    bulletin = Bulletin(title=f"Bản tin {uuid.uuid4().hex[:6]}", language=language,
                        category=category, status="approved", duration_ms=120_000,
                        sha256=uuid.uuid4().hex * 2, size_bytes=1, loudness_lufs=-16,
                        true_peak_dbtp=-2, source_loudness_lufs=-20, source_duration_ms=120_000,
                        source_format="wav", normalization_type="linear",
                        original_sha256=uuid.uuid4().hex * 2, original_filename="b.wav",
                        created_at=local(date(2025, 12, 1), 8))
    session.add(bulletin)
    session.flush()
    return bulletin.id


def _row(found: dict[str, int], sid: int, day: date, hour: int, n: int) -> dict[str, Any]:
    """One playback; its state, bulletin and priority vary with n."""
    at = local(day, hour)
    status = ("played", "played", "interrupted", "missed", "failed", "planned", "played",
              "cancelled", "skipped")[n % 9]
    started = at + timedelta(seconds=0.5) if status in ("played", "interrupted") else None
    length = 120.25 if status == "played" else 45.5
    reason = {"missed": "no_start_reported: nobody", "failed": "media_unavailable: checksum",
              "skipped": "late: too late"}.get(status)
    if status == "failed" and n % 2:
        reason = "một lý do không có mã"
    return {"station_id": sid, "bulletin_id": found[("vi", "rad", "alert")[n % 3]],
            "scheduled_at": at, "priority": "emergency" if n % 5 == 0 else "normal",
            "status": status, "reason": reason, "started_at": started,
            "finished_at": started + timedelta(seconds=length) if started else None,
            "created_at": at - timedelta(days=1), "updated_at": at}


def _dump(db: Database, period: Period, wards: list[str] | None, *, kept: bool
          ) -> dict[str, Any]:
    read.ENABLED = kept
    try:
        with db.session() as session:
            report = service.activity(session=session, period=period, wards=wards, now=NOW,
                                      cutoffs=Cutoffs())
    finally:
        read.ENABLED = True
    return report.model_dump()


def _exact(db: Database) -> None:
    """Every period, the city's and a ward's, read with kept rows equals the live count."""
    for period in _periods():
        for wards in (None, [WARD_A]):
            assert _dump(db, period, wards, kept=True) == _dump(db, period, wards, kept=False), (
                period, wards)


def _generations(db: Database) -> dict[int, int]:
    with db.session() as session:
        rows = session.execute(select(Generation.station_id, Generation.generation))
        return {int(sid): int(gen) for sid, gen in rows}


def _all_fresh(db: Database) -> bool:
    with db.session() as session:
        rows = session.execute(select(Kept.station_id, Kept.generation, Kept.before,
                                      func.coalesce(Generation.generation, 0))
                               .outerjoin(Generation, Generation.station_id == Kept.station_id)
                               ).all()
    return len(rows) == 3 and all(kept == gen and before == HORIZON
                                  for _, kept, before, gen in rows)


def test_each_change_without_a_new_fill_leaves_the_report_exact(
        db: Database, settings: Settings, clock: Clock, ids: dict[str, int]) -> None:
    outcome = fill.fill(db=db, settings=settings, now=NOW)
    assert outcome.before == HORIZON and outcome.stations == 3 and outcome.rows > 0
    assert _all_fresh(db)
    _exact(db)
    s1, s2, s3 = ids["s1"], ids["s2"], ids["s3"]
    with db.session() as session:  # a new timetable's playbacks in a kept month
        clock.at(local(date(2026, 4, 1), 8))
        admin = users.get(session=session, user_id=ids["admin"])
        timetable = scheduling.create(
            session=session, by=admin, default_zone=ZONE, horizon=timedelta(days=10),
            lookahead=timedelta(days=10),
            data=TimetableCreate(bulletin_id=ids["rad"], station_ids=[s2],
                                 starts_at=datetime(2026, 4, 2, 7), recurrence="FREQ=DAILY",
                                 until=datetime(2026, 4, 9, 8))).id
    assert s2 in _generations(db) and s1 not in _generations(db)
    _exact(db)
    with db.session() as session:  # late agent events about one of them
        slot = session.scalar(select(Playback.id).where(
            Playback.timetable_id == timetable, Playback.scheduled_at == local(
                date(2026, 4, 2), 7)))
        assert slot is not None
        for kind, second in ((EventType.STARTED, 1.5), (EventType.FINISHED, 92)):
            clock.at(local(date(2026, 4, 2), 7, second=second + 1))
            ledger.apply_events(session=session, reports=[(s2, Event(
                event_id=uuid.uuid4().hex, playback_id=slot, type=kind,
                at=local(date(2026, 4, 2), 7, second=second)))])
        assert session.get(Playback, slot).status == "played"  # type: ignore[union-attr]
    _exact(db)
    with db.session() as session:  # its cancellation (the rest of it)
        clock.at(local(date(2026, 4, 4), 9))
        scheduling.delete(session=session, timetable_id=timetable,
                          by=users.get(session=session, user_id=ids["admin"]))
    _exact(db)
    with db.session() as session:  # the missed sweep over the old open slots
        assert ledger.watchdog(session=session, now=local(date(2026, 4, 4), 12),
                               grace=timedelta(minutes=5), offline_grace=timedelta(hours=6))
    _exact(db)
    with db.session() as session:  # a bulletin re-categorised: every station is stale
        before = _generations(db)
        session.execute(update(Bulletin).where(Bulletin.id == ids["rad"])
                        .values(category="giao-duc"))
    assert all(_generations(db).get(sid, 0) > before.get(sid, 0) for sid in (s1, s2, s3))
    _exact(db)
    assert fill.fill(db=db, settings=settings, now=NOW).stations == 3
    with db.session() as session:  # raw SQL
        session.execute(text("DELETE FROM playbacks WHERE station_id = :s AND status = 'played' "
                             "AND scheduled_at < :at").bindparams(
            bindparam("at", local(date(2026, 2, 1), 0), type_=UtcDateTime())), {"s": s1})
        session.execute(update(Playback).where(Playback.station_id == s3,
                                               Playback.status == "failed")
                        .values(status="played"))
    _exact(db)
    with db.session() as session:  # a spell of a kept month cut short: s1 is stale
        before = _generations(db)
        session.execute(update(StationSpell).where(
            StationSpell.station_id == s1, StationSpell.online_from == local(date(2026, 1, 21), 6))
            .values(online_until=local(date(2026, 2, 20), 9)))
    assert _generations(db)[s1] == before.get(s1, 0) + 1
    _exact(db)
    with db.session() as session:  # the open spell closed after the horizon: nothing stale
        before = _generations(db)
        session.execute(update(StationSpell).where(StationSpell.station_id == s1,
                                                   StationSpell.online_until.is_(None))
                        .values(online_until=local(date(2026, 6, 20), 9)))
    assert _generations(db) == before
    _exact(db)
    with db.session() as session:  # a spell added to an old month, a registration moved
        session.execute(insert(StationSpell), [{
            "station_id": s3, "online_from": local(date(2026, 2, 3), 0),
            "online_until": local(date(2026, 2, 27), 0)}])
        session.execute(text("UPDATE stations SET created_at = :at WHERE id = :s").bindparams(
            bindparam("at", local(date(2026, 2, 1), 0), type_=UtcDateTime())), {"s": s2})
    assert _generations(db)[s3] and _generations(db)[s2] > before.get(s2, 0)
    _exact(db)
    with db.session() as session:  # a station moved to the other ward
        session.execute(text("UPDATE stations SET ward = :w WHERE id = :s"),
                        {"w": WARD_B, "s": s2})
    _exact(db)


def test_a_new_fill_makes_the_kept_rows_count(db: Database, settings: Settings,
                                              ids: dict[str, int]) -> None:
    fill.fill(db=db, settings=settings, now=NOW)
    with db.session() as session:
        session.execute(update(Playback).where(Playback.station_id == ids["s1"],
                                               Playback.status == "missed")
                        .values(status="skipped"))
    assert not _all_fresh(db)
    outcome = fill.fill(db=db, settings=settings, now=NOW)
    assert outcome.stations == 1 and _all_fresh(db)
    _exact(db)
    # the kept rows are what the report reads: spoil them (no trigger watches them)
    with db.session() as session:
        session.execute(update(KeptCounted).values(n=KeptCounted.n + 1000))
    h1 = _periods()[0]
    assert (_dump(db, h1, None, kept=True)["totals"]["planned"]
            > _dump(db, h1, None, kept=False)["totals"]["planned"] + 1000)


def test_a_month_ends_and_the_next_fill_only_adds_it(db: Database, settings: Settings,
                                                     ids: dict[str, int]) -> None:
    fill.fill(db=db, settings=settings, now=local(date(2026, 5, 20), 12))
    outcome = fill.fill(db=db, settings=settings, now=NOW)
    assert sorted(outcome.extended) == sorted(ids[s] for s in ("s1", "s2", "s3"))
    assert _all_fresh(db)
    _exact(db)


def test_a_new_time_zone_or_cutoff_voids_everything(db: Database, settings: Settings,
                                                    ids: dict[str, int]) -> None:
    fill.fill(db=db, settings=settings, now=NOW)
    moved = settings.model_copy(update={"report_year_start": "12-10",
                                        "report_half_start": "06-10"})
    with db.session() as session:
        horizon.advance(session=session, months=Months.of(ZONE, moved.report_cutoffs),
                        now=NOW)
        assert session.scalar(select(func.count()).select_from(Kept)) == 0
        assert session.scalar(select(func.count()).select_from(KeptCounted)) == 0
    _exact(db)  # nothing kept: all live
    outcome = fill.fill(db=db, settings=moved, now=NOW)
    assert outcome.stations == 3
    with db.session() as session:
        kept = session.scalars(select(Horizon)).one()
        assert (kept.cutoff_day, kept.before) == (10, local(date(2026, 6, 10), 0))
    _exact(db)


def test_a_current_month_bulk_insert_bumps_no_generation(db: Database, settings: Settings,
                                                         ids: dict[str, int]) -> None:
    fill.fill(db=db, settings=settings, now=NOW)
    before = _generations(db)
    with db.session() as session:
        session.execute(insert(Playback), [
            _row(ids, ids[s], date(2026, 6, 21), hour, n)
            for n, (s, hour) in enumerate((s, h) for s in ("s1", "s2", "s3")
                                          for h in range(24))])
        session.execute(update(Playback).where(Playback.scheduled_at >= HORIZON)
                        .values(status="played"))
    assert _generations(db) == before
    with db.session() as session:  # and a row of a kept month does
        session.execute(insert(Playback), [_row(ids, ids["s3"], date(2026, 6, 14), 23, 0)])
    assert _generations(db)[ids["s3"]] == before.get(ids["s3"], 0) + 1


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_the_fill_waits_for_a_writer_that_saw_the_old_horizon(
        db: Database, settings: Settings, ids: dict[str, int]) -> None:
    fill.fill(db=db, settings=settings, now=local(date(2026, 5, 20), 12))  # kept to 15 May
    writer = db.engine.connect()
    writer.begin()
    writer.execute(insert(Playback), [_row(ids, ids["s1"], date(2026, 5, 25), 9, 0)])
    done: list[fill.Outcome] = []
    filling = threading.Thread(target=lambda: done.append(
        fill.fill(db=db, settings=settings, now=NOW)))
    filling.start()
    time.sleep(1.0)
    assert filling.is_alive() and not done  # waiting for the writer
    writer.commit()
    writer.close()
    filling.join(timeout=30)
    assert done and _all_fresh(db)
    _exact(db)


def test_the_leaders_job_keeps_the_tallies(client: TestClient, runtime: Runtime) -> None:
    deadline = time.monotonic() + 10
    while not runtime.is_leader and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runtime.is_leader
    jobs.keep_tallies(runtime)
    months = Months.of(runtime.settings.timezone, runtime.settings.report_cutoffs)
    with runtime.db.session() as session:
        kept = session.scalars(select(Horizon)).one()
        assert kept.before == months.start_of(datetime.now(UTC))


def test_a_deleted_stations_kept_rows_go_at_the_next_fill(db: Database, settings: Settings,
                                                          ids: dict[str, int]) -> None:
    fill.fill(db=db, settings=settings, now=NOW)
    with db.session() as session:
        session.execute(text("DELETE FROM stations WHERE id = :s"), {"s": ids["s3"]})
    _exact(db)
    fill.fill(db=db, settings=settings, now=NOW)
    with db.session() as session:
        for table in (Kept, KeptCounted):
            assert not session.scalar(select(func.count()).select_from(table)
                                      .where(table.station_id == ids["s3"]))
    _exact(db)


def _aired(found: dict[str, int], station: str, bulletin: int, day: date, hour: int,
           status: str = "played") -> dict[str, Any]:
    at = local(day, hour)
    started = at + timedelta(seconds=1) if status in ("played", "interrupted") else None
    return {"station_id": found[station], "bulletin_id": bulletin, "scheduled_at": at,
            "priority": "normal", "status": status, "reason": None, "started_at": started,
            "finished_at": started + timedelta(seconds=60) if started else None,
            "created_at": at - timedelta(days=1), "updated_at": at}


def test_distinct_bulletins_are_exact_over_kept_months_and_edges(
        db: Database, settings: Settings, ids: dict[str, int]) -> None:
    """Bulletins that air again months later, at the edges only, in one ward and then the
    other, at a month's last and first hour: each period's distinct bulletins, per station,
    ward and city, read with kept rows are those counted live; and the kept rows are read."""
    d = date
    with db.session() as session:
        b = [_bulletin(session, "vi", "y-te") for _ in range(8)]
        session.execute(insert(Playback), [
            _aired(ids, "s1", b[0], d(2025, 12, 20), 9), _aired(ids, "s1", b[0], d(2026, 2, 10), 9),
            _aired(ids, "s1", b[0], d(2026, 6, 17), 9),
            _aired(ids, "s1", b[1], d(2026, 1, 5), 9), _aired(ids, "s2", b[1], d(2026, 3, 1), 9),
            _aired(ids, "s1", b[1], d(2026, 6, 16), 9),
            _aired(ids, "s2", b[2], d(2026, 6, 18), 9),  # the trailing edge only
            _aired(ids, "s3", b[3], d(2026, 1, 10), 9), _aired(ids, "s1", b[3], d(2026, 6, 16), 9),
            *[_aired(ids, "s3", b[4], d(2026, month, 20), 9) for month in range(1, 7)],
            _aired(ids, "s2", b[5], d(2026, 4, 14), 23), _aired(ids, "s2", b[5], d(2026, 4, 15), 1),
            _aired(ids, "s1", b[6], d(2026, 6, 16), 10, "missed"),
            _aired(ids, "s1", b[6], d(2026, 2, 1), 10),
            _aired(ids, "s3", b[7], d(2026, 5, 1), 10, "interrupted")])
    fill.fill(db=db, settings=settings, now=NOW)
    cutoffs = Cutoffs()
    chosen = [periods.named("2026", timezone=ZONE, cutoffs=cutoffs),  # to now: a trailing edge
              *_periods(),
              *[periods.between(first, last, timezone=ZONE) for first, last in (
                  (d(2026, 1, 10), d(2026, 6, 16)), (d(2026, 4, 15), d(2026, 6, 20)),
                  (d(2026, 2, 1), d(2026, 2, 28)), (d(2026, 1, 15), d(2026, 6, 17)))]]
    counts = set()
    for period in chosen:
        for wards in (None, [WARD_A], [WARD_B], [WARD_A, WARD_B]):
            kept, live = (_dump(db, period, wards, kept=flag) for flag in (True, False))
            assert kept == live, (period, wards)
            counts.add(kept["totals"]["bulletins"])
    assert len(counts) > 3  # the periods differ in what they count
    with db.session() as session:  # the kept rows are what the report reads: spoil them
        session.execute(update(KeptBulletins).values(n=KeptBulletins.n + 100))
        session.execute(update(ScopeBulletins).values(n=ScopeBulletins.n + 1000))
        session.execute(update(KeptUptime).values(online=KeptUptime.online + 1000))
    kept = _dump(db, chosen[1], None, kept=True)
    live = _dump(db, chosen[1], None, kept=False)
    assert kept["totals"]["bulletins"] >= live["totals"]["bulletins"] + 1000
    assert all(k["bulletins"] >= l_["bulletins"] + 1000
               for k, l_ in zip(kept["wards"], live["wards"], strict=True))
    assert all(k["bulletins"] >= l_["bulletins"] + 100
               for k, l_ in zip(kept["stations"], live["stations"], strict=True))
    # online time too: the two stations ever online have kept months (Trạm 3 has none)
    assert kept["totals"]["online_seconds"] >= live["totals"]["online_seconds"] + 2 * 1000
