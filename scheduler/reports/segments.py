"""A station's online time over stretches of a period (tally months, or a period's edges),
each summed up apart, and the sums put together again.

Each stretch says how long the station was online in it, when it first came and last went
there, and its longest offline gap between two spells inside it. Put end to end, they give
the period's online time and longest outage exactly as one pass over the spells does
(uptime.py), the spells of a station not overlapping (they never do: one opens when the
station comes online, and it is closed before another opens). Equal gaps: the earlier wins,
there as here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Executable,
    Select,
    Subquery,
    and_,
    case,
    func,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from scheduler.db import UtcDateTime
from scheduler.reports import sql
from scheduler.reports.kept.read import instant
from scheduler.reports.schemas import Outage
from scheduler.stations.models import Station, StationSpell


class Segment(NamedTuple):
    """A station's spells in one stretch [start, …), clipped to it and to its registration."""

    station_id: int
    start: datetime
    online: float  # seconds
    first_on: datetime
    last_off: datetime
    gap_start: datetime | None  # the longest gap between two of its spells, if two
    gap_end: datetime | None


def segments(session: Session, ranges: Sequence[tuple[datetime, datetime]], now: datetime,
             *where: ColumnElement[bool]) -> Select[Any]:
    """One row a station and stretch it was online in (Segment's columns, `start` labelled
    month_start), of the stations `where` (on StationSpell) chooses; a spell still open runs
    to `now`."""
    stretches = [select(instant(lo).label("lo"), instant(hi).label("hi")) for lo, hi in ranges]
    each = (union_all(*stretches) if len(stretches) > 1 else stretches[0]).subquery("stretches")
    since = sql.later(each.c.lo, Station.created_at)
    until = func.coalesce(StationSpell.online_until, instant(now), type_=UtcDateTime())
    clipped = (select(StationSpell.station_id, each.c.lo,
                      sql.later(StationSpell.online_from, since).label("s"),
                      sql.earlier(until, each.c.hi).label("e"))
               .select_from(StationSpell)
               .join(Station, Station.id == StationSpell.station_id)
               .join(each, and_(StationSpell.online_from < each.c.hi, until > since,
                                since < each.c.hi))
               .where(*where).subquery())
    lagged = (select(clipped.c.station_id, clipped.c.lo, clipped.c.s, clipped.c.e,
                     func.lag(clipped.c.e, type_=UtcDateTime())
                     .over(order_by=clipped.c.s,
                           partition_by=[clipped.c.station_id, clipped.c.lo]).label("prev"))
              .subquery())
    part = [lagged.c.station_id, lagged.c.lo]
    gap = sql.seconds(session, lagged.c.prev, lagged.c.s)
    ranked = (select(lagged.c.station_id, lagged.c.lo,
                     func.sum(sql.seconds(session, lagged.c.s, lagged.c.e)).over(partition_by=part)
                     .label("online"),
                     func.min(lagged.c.s, type_=UtcDateTime()).over(partition_by=part)
                     .label("first_on"),
                     func.max(lagged.c.e, type_=UtcDateTime()).over(partition_by=part)
                     .label("last_off"),
                     lagged.c.prev, lagged.c.s,
                     func.row_number().over(order_by=[gap.desc().nulls_last(), lagged.c.s],
                                            partition_by=part).label("rank"))
              .subquery())
    return (select(ranked.c.station_id, ranked.c.lo.label("month_start"), ranked.c.online,
                   ranked.c.first_on, ranked.c.last_off, ranked.c.prev.label("gap_start"),
                   case((ranked.c.prev.is_not(None), ranked.c.s), else_=null())
                   .label("gap_end"))
            .where(ranked.c.rank == 1))


def end_to_end(session: Session, rows: Subquery) -> Select[Any]:
    """One stretch a station from its consecutive stretches `rows` (Segment's columns, `start`
    as month_start): their sums, and the longest gap between or inside them (the earlier of
    equal ones), as combined() would find it. A year of tally months comes back as one row a
    station instead of twelve."""
    prev = func.lag(rows.c.last_off, type_=UtcDateTime()).over(
        partition_by=rows.c.station_id, order_by=rows.c.month_start)
    lagged = select(*rows.c, prev.label("prev_off")).subquery()
    gaps = union_all(
        select(lagged.c.station_id, lagged.c.prev_off.label("a"), lagged.c.first_on.label("b"))
        .where(lagged.c.prev_off.is_not(None)),
        select(lagged.c.station_id, lagged.c.gap_start, lagged.c.gap_end)
        .where(lagged.c.gap_start.is_not(None))).subquery()
    ranked = (select(gaps.c.station_id, gaps.c.a, gaps.c.b, func.row_number().over(
                  partition_by=gaps.c.station_id,
                  order_by=[sql.seconds(session, gaps.c.a, gaps.c.b).desc(), gaps.c.a])
              .label("rank")).subquery())
    best = select(ranked.c.station_id, ranked.c.a, ranked.c.b).where(ranked.c.rank == 1).subquery()
    totals = (select(rows.c.station_id,
                     func.min(rows.c.month_start, type_=UtcDateTime()).label("month_start"),
                     func.sum(rows.c.online).label("online"),
                     func.min(rows.c.first_on, type_=UtcDateTime()).label("first_on"),
                     func.max(rows.c.last_off, type_=UtcDateTime()).label("last_off"))
              .group_by(rows.c.station_id).subquery())
    return (select(*totals.c, best.c.a.label("gap_start"), best.c.b.label("gap_end"))
            .outerjoin(best, best.c.station_id == totals.c.station_id))


def read(session: Session, query: Executable) -> list[Segment]:
    return [Segment(int(sid), start, float(online or 0.0), first_on, last_off, gap_start,
                    gap_end)
            for sid, start, online, first_on, last_off, gap_start, gap_end
            in session.execute(query).all()]


def combined(first: datetime, end: datetime, parts: Iterable[Segment]
             ) -> tuple[float, Outage | None]:
    """The online seconds of stretches from `first` to `end`, and the longest outage: a gap
    between stretches, inside one, or before `first`'s first spell or after the last."""
    online, since = 0.0, first
    best: tuple[datetime, datetime] | None = None
    for part in sorted(parts, key=lambda part: part.start):
        online += part.online
        for gap in ((since, part.first_on), (part.gap_start, part.gap_end)):
            if gap[0] is not None and gap[1] is not None and (
                    best is None or gap[1] - gap[0] > best[1] - best[0]):
                best = (gap[0], gap[1])
        since = part.last_off
    if best is None or end - since > best[1] - best[0]:
        best = (since, end)
    seconds = max((best[1] - best[0]).total_seconds(), 0.0)
    return online, (Outage(start=best[0], end=best[1], seconds=seconds)
                    if seconds > 0
                    else None)
