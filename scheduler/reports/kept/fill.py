"""Keep the report tallies: advance the horizon, wait out the writers that saw the old one,
then count again the stations whose kept months are stale or stop short of the horizon.

No lock on the ledger: each batch of stations is counted in one consistent snapshot
(PostgreSQL: REPEATABLE READ; SQLite: one read transaction) and stamped with the
generations read in that snapshot. A playback of a kept month changed after the snapshot
bumped its station's generation (the triggers of migration 0021), so the rows written are
stale on arrival and reports count that station live until the next fill.
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
from scheduler.reports.kept import horizon as horizons
from scheduler.reports.kept import monthly
from scheduler.reports.kept.models import (
    Generation,
    Kept,
    KeptCounted,
    KeptNotPlayed,
    KeptOnAir,
)
from scheduler.reports.kept.months import Months
from scheduler.stations.models import Station

log = logging.getLogger(__name__)
BATCH = 1000  # stations counted in one snapshot: bounds the rows held in memory
TABLES = ((KeptCounted, monthly.counted), (KeptOnAir, monthly.on_air),
          (KeptNotPlayed, monthly.not_played))
WRITERS_LOCK = 0x7761_7264_6B65_7074  # one fill writes at a time (PostgreSQL advisory lock)


@dataclass
class Outcome:
    """What a fill did."""

    before: datetime | None = None
    stations: int = 0  # stations whose kept rows were written
    skipped: int = 0  # changed while being counted: counted live until the next fill
    rows: int = 0
    extended: list[int] = field(default_factory=list)


def fill(*, db: Database, settings: Settings, now: datetime, batch: int = BATCH) -> Outcome:
    """Keep every station's tallies for the whole tally months before the current one."""
    months = Months.of(settings.timezone, settings.report_cutoffs)
    with db.session() as session:
        before = horizons.advance(session=session, months=months, now=now).before
    horizons.wait_for_writers(db)
    outcome = Outcome(before=before)
    with db.session() as session:
        due = _due(session, before)
    for since, stations in due.items():
        for at in range(0, len(stations), batch):
            _keep(db, months, stations[at:at + batch], since, before, outcome)
    log.info("kept tallies before %s: %d station(s), %d row(s), %d skipped", before.isoformat(),
             outcome.stations, outcome.rows, outcome.skipped)
    return outcome


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
    with _snapshot(db) as session:
        marks = {int(sid): (int(gen), kept, at) for sid, gen, kept, at in session.execute(
            select(Station.id, func.coalesce(Generation.generation, 0), Kept.generation,
                   Kept.before)
            .outerjoin(Generation, Generation.station_id == Station.id)
            .outerjoin(Kept, Kept.station_id == Station.id)
            .where(in_list(session, Station.id, stations)))}
        if since is not None:  # extending: only if nothing changed since _due looked
            fresh = [sid for sid, (gen, kept, at) in marks.items()
                     if kept == gen and at == since]
            outcome.skipped += len(marks) - len(fresh)
            stations = fresh
        first = since or session.scalar(select(func.min(Playback.scheduled_at)).where(
            in_list(session, Playback.station_id, stations)))
        starts = months.between(first, before) if first is not None and stations else []
        rows = {table: count(session, stations, starts, before) if starts else []
                for table, count in TABLES}
    _write(db, stations, since, before, {sid: marks[sid][0] for sid in stations}, rows)
    outcome.stations += len(stations)
    outcome.rows += sum(len(found) for found in rows.values())
    if since is not None:
        outcome.extended += stations


@contextmanager
def _snapshot(db: Database) -> Iterator[Session]:
    """A read-only session whose statements all see one snapshot."""
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin(), Session(bind=conn) as session:
                session.execute(text("SET TRANSACTION READ ONLY"))
                yield session
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


def _write(db: Database, stations: Sequence[int], since: datetime | None, before: datetime,
           generations: dict[int, int], rows: dict[Any, list[dict[str, Any]]]) -> None:
    """Replace the stations' kept rows (from `since` on) with those counted."""
    if not stations:
        return
    with db.session() as session:
        if db.engine.dialect.name == "postgresql":  # two fills would interleave their rows
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITERS_LOCK})
        for table, found in rows.items():
            old = delete(table).where(in_list(session, table.station_id, stations))
            if since is not None:
                old = old.where(table.month_start >= since)
            session.execute(old)
            if found:
                session.execute(insert(table), [{**row, "generation": generations[row[
                    "station_id"]]} for row in found])
        session.execute(delete(Kept).where(in_list(session, Kept.station_id, stations)))
        session.execute(insert(Kept), [{"station_id": sid, "generation": generations[sid],
                                        "before": before} for sid in stations])
