"""Advance the horizon of kept tallies, and wait out the writers that saw it before."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from scheduler.db import Database
from scheduler.reports.kept.models import (
    Horizon,
    Kept,
    KeptBulletins,
    KeptCounted,
    KeptNotPlayed,
    KeptOnAir,
    KeptUptime,
    Scope,
    ScopeBulletins,
)
from scheduler.reports.kept.months import Months

log = logging.getLogger(__name__)
WAIT_S = 60.0  # a writer open longer than this: the fill gives up until its next run
POLL_S = 0.05


class WritersStillOpen(TimeoutError):
    """Transactions that may have read the old horizon are still open."""


def advance(*, session: Session, months: Months, now: datetime) -> Horizon:
    """Move the horizon to the start of the current tally month; when the time zone or the
    cut-off day changed, void everything kept (its months are no longer the reports')."""
    target = months.start_of(now)
    horizon = session.scalars(select(Horizon)).first()
    if horizon is None:
        horizon = Horizon(id=1, before=target, timezone=months.timezone, cutoff_day=months.day)
        session.add(horizon)
    elif (horizon.timezone, horizon.cutoff_day) != (months.timezone, months.day):
        log.info("kept tallies: the time zone or cut-off day changed; refilling all")
        for table in (KeptCounted, KeptOnAir, KeptNotPlayed, KeptBulletins, KeptUptime, Kept,
                      ScopeBulletins, Scope):
            session.execute(delete(table))
        horizon.timezone, horizon.cutoff_day, horizon.before = months.timezone, months.day, target
    elif horizon.before < target:
        horizon.before = target
    session.flush()
    return horizon


def wait_for_writers(db: Database, *, timeout: float = WAIT_S) -> None:
    """Wait until every transaction in progress when this is called has ended.

    Called after the horizon's commit: a writer whose trigger read the old horizon (and so
    did not mark its old-month row's station stale) must have committed or rolled back
    before the fill reads, so that the fill counts its row. A trigger that reads the horizon
    after its commit marks the station itself: the function is VOLATILE, so under READ
    COMMITTED its SELECT takes a fresh snapshot, after the writer's xid was assigned; a
    writer's xid assigned before the snapshot below is in its xip list (or already ended).
    (A REPEATABLE READ writer whose snapshot is older than the horizon is not covered; the
    scheduler writes the ledger in READ COMMITTED.)

    SQLite needs nothing: one writer at a time, so the horizon's own write waited for every
    writer before it, and every writer after it reads the new horizon.
    """
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect() as conn:
        xids = [str(x) for x in conn.execute(
            text("SELECT pg_snapshot_xip(pg_current_snapshot())")).scalars()]
        conn.rollback()
        deadline = time.monotonic() + timeout
        while xids:
            xids = [str(x) for x in conn.execute(
                text("SELECT x FROM unnest(CAST(:xids AS xid8[])) AS x "
                     "WHERE pg_xact_status(x) = 'in progress'"), {"xids": xids}).scalars()]
            conn.rollback()
            if not xids:
                return
            if time.monotonic() > deadline:
                raise WritersStillOpen(f"{len(xids)} transaction(s) open for over {timeout} s")
            time.sleep(POLL_S)
