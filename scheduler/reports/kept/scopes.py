"""Keep the wards' and the city's bulletins by tally month (bulletins.py), as the fill's last
step: one snapshot counts them all, stamped with a signature of the stations each scope holds
and their generations, so that a station moved, added, deleted or changed in a kept month
makes its ward and the city count live until the next fill."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from scheduler.db import Database
from scheduler.playbacks.models import Playback
from scheduler.reports.kept import bulletins, read
from scheduler.reports.kept.models import Generation, Scope, ScopeBulletins
from scheduler.reports.kept.months import Months
from scheduler.stations.models import Station

Snapshot = Callable[..., AbstractContextManager[Session]]
CITY: str | None = None  # the scope of every station


def signatures(session: Session) -> dict[str | None, str]:
    """Each ward's (and the city's) stations and their generations, summed up."""
    digests: dict[str | None, hashlib._Hash] = defaultdict(hashlib.sha256)
    for sid, ward, generation in session.execute(
            select(Station.id, Station.ward, func.coalesce(Generation.generation, 0))
            .outerjoin(Generation, Generation.station_id == Station.id).order_by(Station.id)):
        piece = f"{sid}:{generation};".encode()
        digests[ward].update(piece)
        digests[CITY].update(piece)
    return {scope: digest.hexdigest() for scope, digest in digests.items()}


def fresh(session: Session, core_end: datetime) -> set[str | None]:
    """The scopes whose kept rows hold their stations as they are, up to core_end."""
    now = signatures(session)
    return {scope.ward for scope in session.scalars(select(Scope))
            if scope.before >= core_end and now.get(scope.ward) == scope.signature}


def keep(db: Database, snapshot: Snapshot, months: Months, before: datetime) -> int:
    """Count every scope's months again unless all are kept as they are; return the rows."""
    with snapshot(db, write=False) as session:
        now = signatures(session)
        kept = {scope.ward: (scope.signature, scope.before)
                for scope in session.scalars(select(Scope))}
        if kept == {scope: (signature, before) for scope, signature in now.items()}:
            return 0
        first = session.scalar(select(func.min(Playback.scheduled_at)))
        starts = months.between(first, before) if first is not None else []
        rows = list(_counted(session, starts, before)) if starts else []
    with db.session() as session:
        session.execute(delete(ScopeBulletins))
        session.execute(delete(Scope))
        ids = {}
        for ward, signature in now.items():
            scope = Scope(ward=ward, signature=signature, before=before)
            session.add(scope)
            session.flush()
            ids[ward] = scope.id
        if rows:
            session.execute(insert(ScopeBulletins), [
                {"scope_id": ids[ward], "month_start": month, "prev_at": prev, "n": n}
                for ward, month, prev, n in rows if ward in ids])
    return len(rows)


def _counted(session: Session, starts: Sequence[datetime], before: datetime
             ) -> Iterator[tuple[str | None, datetime, datetime | None, int]]:
    wards = bulletins.months(select(Station.ward.label("ward")).select_from(Playback)
                             .join(Station, Station.id == Playback.station_id), starts, before)
    city = bulletins.months(select().select_from(Playback), starts, before)
    first = read.instant(starts[0])
    for ward, month, prev, n in session.execute(
            select(wards.c.ward, wards.c.month_start, wards.c.prev_at, func.count())
            .where(wards.c.month_start >= first)
            .group_by(wards.c.ward, wards.c.month_start, wards.c.prev_at)):
        yield str(ward), month, prev, int(n)
    for month, prev, n in session.execute(
            select(city.c.month_start, city.c.prev_at, func.count())
            .where(city.c.month_start >= first)
            .group_by(city.c.month_start, city.c.prev_at)):
        yield CITY, month, prev, int(n)
