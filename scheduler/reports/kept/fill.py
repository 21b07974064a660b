"""Keep the report tallies: advance the horizon, wait out the writers that saw the old one,
then count again the stations whose kept months are stale or stop short of the horizon.

No lock on the ledger: each batch of stations is counted in one consistent snapshot
(PostgreSQL: REPEATABLE READ, counted and written with INSERT … SELECT; SQLite: one read
transaction, then a short write) and stamped with the generations read in that snapshot. A
playback of a kept month changed after the snapshot bumped its station's generation (the
triggers of migration 0021), so the rows written are stale on arrival and reports count that
station live until the next fill.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from scheduler.config import Settings
from scheduler.db import Database, in_list
from scheduler.playbacks.models import Playback
from scheduler.reports import sql
from scheduler.reports.kept import horizon as horizons
from scheduler.reports.kept import monthly, scopes
from scheduler.reports.kept.models import (
    Generation,
    Kept,
    KeptBulletins,
    KeptCounted,
    KeptNotPlayed,
    KeptOnAir,
    KeptUptime,
)
from scheduler.reports.kept.months import Months
from scheduler.stations.models import Station

log = logging.getLogger(__name__)
BATCH = 1000  # SQLite: stations counted in one snapshot, which bounds the rows held
FILL_LOCK = 0x7761_7264_6B65_7074  # one fill at a time (a PostgreSQL advisory lock)


@dataclass
class Outcome:
    """What a fill did."""

    before: datetime | None = None
    stations: int = 0  # stations whose kept rows were written
    skipped: int = 0  # changed while being counted: counted live until the next fill
    rows: int = 0
    scope_rows: int = 0  # the wards' and the city's bulletins (0: kept as they were)
    extended: list[int] = field(default_factory=list)


def fill(*, db: Database, settings: Settings, now: datetime) -> Outcome:
    """Keep every station's tallies for the whole tally months before the current one."""
    months = Months.of(settings.timezone, settings.report_cutoffs)
    with _alone(db) as alone:
        if not alone:
            log.info("kept tallies: another fill is running")
            return Outcome()
        with db.session() as session:
            before = horizons.advance(session=session, months=months, now=now).before
        horizons.wait_for_writers(db)
        outcome = Outcome(before=before)
        with db.session() as session:
            _forget_deleted(session)
            due = _due(session, before)
        for since, stations in due.items():
            # PostgreSQL counts and writes in SQL: one pass over the ledger for them all
            batch = len(stations) if _postgres(db) else BATCH
            for at in range(0, len(stations), batch):
                _keep(db, months, stations[at:at + batch], since, before, outcome)
        outcome.scope_rows = scopes.keep(db, _snapshot, months, before)
    log.info("kept tallies before %s: %d station(s), %d row(s), %d skipped", before.isoformat(),
             outcome.stations, outcome.rows, outcome.skipped)
    return outcome


def _postgres(db: Database) -> bool:
    return db.engine.dialect.name == "postgresql"


@contextmanager
def _alone(db: Database) -> Iterator[bool]:
    """Whether no other fill runs (PostgreSQL: a session advisory lock; SQLite writes one at
    a time, and each batch replaces its stations' rows whole)."""
    if not _postgres(db):
        yield True
        return
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        mine = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": FILL_LOCK}))
        try:
            yield mine
        finally:
            if mine:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": FILL_LOCK})


def _forget_deleted(session: Session) -> None:
    """Delete the kept rows of deleted stations (no foreign key does it: see models.py)."""
    for table in (KeptCounted, KeptOnAir, KeptNotPlayed, KeptBulletins, KeptUptime, Kept):
        session.execute(delete(table).where(
            ~select(Station.id).where(Station.id == table.station_id).exists()))


def _due(session: Session, before: datetime) -> dict[datetime | None, list[int]]:
    """Stations to count, by the month to count from (None: all over again)."""
    current = func.coalesce(Generation.generation, 0)
    found: dict[datetime | None, list[int]] = defaultdict(list)
    for sid, kept, since, generation in session.execute(
            select(Station.id, Kept.generation, Kept.before, current)
            .outerjoin(Kept, Kept.station_id == Station.id)
            .outerjoin(Generation, Generation.station_id == Station.id).order_by(Station.id)):
        if kept is None or kept != generation:
            found[None].append(int(sid))
        elif since < before:
            found[since].append(int(sid))
    return found


def _keep(db: Database, months: Months, stations: Sequence[int], since: datetime | None,
          before: datetime, outcome: Outcome) -> None:
    """Count a batch in one snapshot; on PostgreSQL write in it too (INSERT … SELECT: only
    the kept tables are written, which no trigger touches), on SQLite just after."""
    postgres = _postgres(db)
    with _snapshot(db, write=postgres) as session:
        generations = _generations(session, stations, since)
        outcome.skipped += len(stations) - len(generations)
        stations = list(generations)
        first = since or _first(session, stations)
        starts = months.between(first, before) if first is not None and stations else []
        countings = monthly.countings(session, stations, starts, before) if starts else []
        if postgres:
            outcome.rows += _replace(session, stations, since, before, generations, countings)
        else:
            rows = [(table, names, [dict(zip(names, row, strict=True))
                                    for row in session.execute(query)])
                    for table, names, query in countings]
    if not postgres:
        with db.session() as session:
            outcome.rows += _replace(session, stations, since, before, generations, rows)
    outcome.stations += len(stations)
    if since is not None:
        outcome.extended += stations


def _generations(session: Session, stations: Sequence[int], since: datetime | None
                 ) -> dict[int, int]:
    """The stations' generations in this snapshot; when extending kept months, only of those
    whose kept rows are still fresh and end at `since` (the others wait for the next fill)."""
    found = {}
    for sid, generation, kept, at in session.execute(
            select(Station.id, func.coalesce(Generation.generation, 0), Kept.generation,
                   Kept.before)
            .outerjoin(Generation, Generation.station_id == Station.id)
            .outerjoin(Kept, Kept.station_id == Station.id)
            .where(in_list(session, Station.id, stations)).order_by(Station.id)):
        if since is None or (kept == generation and at == since):
            found[int(sid)] = int(generation)
    return found


def _first(session: Session, stations: Sequence[int]) -> datetime | None:
    """The earliest a batch's months can hold: its first playback, or its first registration
    (online time counts from then)."""
    found = [session.scalar(select(func.min(Playback.scheduled_at)).where(
                 in_list(session, Playback.station_id, stations))),
             session.scalar(select(func.min(Station.created_at)).where(
                 in_list(session, Station.id, stations)))]
    return min((at for at in found if at is not None), default=None)


@contextmanager
def _snapshot(db: Database, *, write: bool) -> Iterator[Session]:
    """A session whose statements all see one snapshot."""
    with db.engine.connect() as conn:
        if _postgres(db):
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin(), Session(bind=conn) as session:
                if not write:
                    session.execute(text("SET TRANSACTION READ ONLY"))
                sql.tune(session)  # as a report's passes: hashes in memory, no JIT
                yield session
                session.flush()
            return
        # pysqlite opens no transaction for a SELECT: take one by hand, so that every
        # statement reads the same state of the WAL
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("BEGIN")
        try:
            with Session(bind=conn) as session:
                yield session
        finally:
            if conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
                conn.exec_driver_sql("COMMIT")


def _replace(session: Session, stations: Sequence[int], since: datetime | None,
             before: datetime, generations: dict[int, int],
             rows: Sequence[tuple[Any, list[str], Any]]) -> int:
    """Replace the stations' kept rows (from `since` on) with those counted (a query or
    rows); return how many were written."""
    if not stations:
        return 0
    written = 0
    for table in (KeptCounted, KeptOnAir, KeptNotPlayed, KeptBulletins, KeptUptime):
        old = delete(table).where(in_list(session, table.station_id, stations))
        if since is not None:
            old = old.where(table.month_start >= since)
        session.execute(old)
    for table, names, found in rows:
        if isinstance(found, list):
            if found:
                session.execute(insert(table), found)
            written += len(found)
        else:
            # the count of an INSERT … SELECT is kept only when asked for
            written += session.connection().execution_options(preserve_rowcount=True).execute(
                insert(table).from_select(names, found)).rowcount
    session.execute(delete(Kept).where(in_list(session, Kept.station_id, stations)))
    session.execute(insert(Kept), [{"station_id": sid, "generation": generations[sid],
                                    "before": before} for sid in stations])
    return written
