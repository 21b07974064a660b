"""Which timetable was let displace which: the record that keeps a displacement standing.

Inside the horizon a displacement skips the lower timetable's planned playbacks at once; past
it there is nothing to skip yet, so it is recorded, and the planner ends those runs `skipped`,
reason `preempted`, when it reaches them. A record counts only while the displacing timetable
has the higher priority.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from scheduler.timetables.models import timetable_displacements as table
from wardcast.protocol import utcnow


def record(*, session: Session, timetable_id: int, displaced_ids: Iterable[int]) -> None:
    """Record that a timetable displaces others (once each)."""
    wanted = set(displaced_ids) - {timetable_id}
    if not wanted:
        return
    known = set(session.scalars(select(table.c.displaced_id).where(
        table.c.timetable_id == timetable_id, table.c.displaced_id.in_(sorted(wanted)))))
    stamp = utcnow()
    rows = [{"timetable_id": timetable_id, "displaced_id": d, "created_at": stamp}
            for d in sorted(wanted - known)]
    if rows:
        session.execute(insert(table), rows)


def pairs(*, session: Session, timetable_ids: Iterable[int]) -> set[tuple[int, int]]:
    """Return the (displacing, displaced) pairs that involve any of these timetables."""
    ids = sorted(set(timetable_ids))
    found: set[tuple[int, int]] = set()
    for first in range(0, len(ids), 500):
        chunk = ids[first:first + 500]
        found |= {(winner, loser) for winner, loser in session.execute(
            select(table.c.timetable_id, table.c.displaced_id).where(or_(
                table.c.timetable_id.in_(chunk), table.c.displaced_id.in_(chunk))))}
    return found
