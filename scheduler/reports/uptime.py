"""Each station's availability over a period and its longest outage, from its online spells.

A station is watched from the later of the period's start and its registration to the earlier
of the period's end and now. Its spells (station_spells) are clipped to that window and added
up in SQL, and the gaps between them found with window functions: one row a station comes
back, however often its link dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, func, select, union_all
from sqlalchemy.orm import Session

from scheduler.db import UtcDateTime
from scheduler.reports import segments, sql
from scheduler.reports.kept import read
from scheduler.reports.kept.models import KeptUptime
from scheduler.reports.periods import Period
from scheduler.reports.schemas import Outage
from scheduler.stations.models import Station, StationSpell


@dataclass(frozen=True)
class Uptime:
    online_seconds: float
    observed_seconds: float
    longest_outage: Outage | None

    @property
    def availability(self) -> float | None:
        if self.observed_seconds <= 0:
            return None
        return min(self.online_seconds / self.observed_seconds, 1.0)


@dataclass(frozen=True)
class _Window:
    """The instants every station's window is cut from."""

    start: datetime  # the period's
    end: datetime  # the period's end, or now if sooner
    now: datetime  # where a spell still open ends
    wards: list[str] | None

    def first(self, created_at: datetime) -> datetime:
        return max(self.start, created_at)


def uptimes(*, session: Session, period: Period, created: Mapping[int, datetime],
            wards: list[str] | None, now: datetime) -> dict[int, Uptime]:
    """Return the availability over the period so far of each station (id → registration),
    of these wards if any are given."""
    window = _Window(period.start, min(period.end, now), now, wards)
    if window.end <= window.start or not created:
        return {sid: Uptime(0.0, 0.0, None) for sid in created}
    split = read.split(session, period, wards)
    if split.core is not None and split.state is not None:
        measure = _kept(session, window, split.core, split.edges, split.state)
    else:
        measure = _live(session, window)
    found: dict[int, Uptime] = {}
    for sid, registered in created.items():
        first = window.first(registered)
        observed = max((window.end - first).total_seconds(), 0.0)
        if observed <= 0:
            found[sid] = Uptime(0.0, 0.0, None)
            continue
        online, longest = measure(sid, first)
        found[sid] = Uptime(min(max(online, 0.0), observed), observed, longest)
    return found


# a station's online seconds and longest outage from its first instant watched to the end
Measure = Callable[[int, datetime], tuple[float, Outage | None]]


def _live(session: Session, window: _Window) -> Measure:
    """From the spells, one pass over the whole window."""
    spells = {row.station_id: row for row in _spells(session, window)}

    def measure(sid: int, first: datetime) -> tuple[float, Outage | None]:
        mine = spells.get(sid)
        if mine is None:  # no spell at all: offline the whole window
            return 0.0, _outage(first, window.end)
        # the longer of the two (the first if equal), made a model only once chosen
        start, end = max((mine.gap_start, mine.gap_end), (mine.last, window.end),
                         key=lambda gap: gap[1] - gap[0])
        longest = _outage(start, end)
        return mine.online, longest if longest.seconds > 0 else None

    return measure


def _kept(session: Session, window: _Window, core: tuple[datetime, datetime],
          edges: list[tuple[datetime, datetime]], state: Any) -> Measure:
    """The fresh stations' kept months and their edges, the stale stations' whole window,
    read as stretches in one statement (so one snapshot decides which are fresh)."""
    fresh = select(state.c.station_id).where(state.c.kept.is_not(None))
    stale = select(state.c.station_id).where(state.c.kept.is_(None))
    kept = (select(KeptUptime.station_id, KeptUptime.month_start, KeptUptime.online,
                   KeptUptime.first_on, KeptUptime.last_off, KeptUptime.gap_start,
                   KeptUptime.gap_end)
            .join(state, and_(state.c.station_id == KeptUptime.station_id,
                              state.c.kept == KeptUptime.generation))
            .where(KeptUptime.month_start >= read.instant(core[0]),
                   KeptUptime.month_start < read.instant(core[1])).subquery())
    parts: list[Any] = [
        segments.end_to_end(session, kept),
        segments.segments(session, [(window.start, window.end)], window.now,
                          StationSpell.station_id.in_(stale))]
    ranges = [(lo, min(hi, window.end)) for lo, hi in edges if lo < min(hi, window.end)]
    if ranges:
        parts.append(segments.segments(session, ranges, window.now,
                                       StationSpell.station_id.in_(fresh)))
    each: dict[int, list[segments.Segment]] = defaultdict(list)
    for part in segments.read(session, union_all(*parts)):
        each[part.station_id].append(part)
    return lambda sid, first: segments.combined(first, window.end, each.get(sid, ()))


class _Spells(NamedTuple):
    station_id: int
    online: float  # seconds online in the window
    last: datetime  # when the last spell in the window ended (clipped)
    gap_start: datetime  # the longest stretch before a spell, from the window's start
    gap_end: datetime


def _outage(start: datetime, end: datetime) -> Outage:
    return Outage(start=start, end=end,
                                  seconds=max((end - start).total_seconds(), 0.0))


def _spells(session: Session, window: _Window) -> list[_Spells]:
    """Each station's online seconds in its window, the end of its last spell there, and its
    longest offline stretch before a spell; one row a station, from one pass."""
    first = sql.later(Station.created_at, sql.instant(window.start, "wstart"))
    end = sql.instant(window.end, "wend")
    until = func.coalesce(StationSpell.online_until, sql.instant(window.now, "now"),
                          type_=UtcDateTime())
    clipped_from = sql.later(StationSpell.online_from, first)
    each = (select(StationSpell.station_id.label("sid"), clipped_from.label("start"),
                   sql.earlier(until, end).label("end"),
                   func.coalesce(func.lag(until, type_=UtcDateTime()).over(
                       partition_by=StationSpell.station_id, order_by=StationSpell.online_from),
                       first, type_=UtcDateTime()).label("after"))
            .join(Station, Station.id == StationSpell.station_id)
            .where(StationSpell.online_from < end, until > first,
                   *([Station.ward.in_(window.wards)] if window.wards is not None else []))
            .subquery())
    gap = sql.seconds(session, each.c.after, each.c.start)
    ranked = (select(each.c.sid,
                     func.sum(sql.seconds(session, each.c.start, each.c.end))
                     .over(partition_by=each.c.sid).label("online"),
                     func.max(each.c.end, type_=UtcDateTime())
                     .over(partition_by=each.c.sid).label("last"),
                     each.c.after, each.c.start,
                     # equal gaps: the earlier (as segments.combined takes them)
                     func.row_number().over(partition_by=each.c.sid,
                                            order_by=[gap.desc(), each.c.start])
                     .label("rank"))
              .subquery())
    query = select(ranked.c.sid, ranked.c.online, ranked.c.last, ranked.c.after,
                   ranked.c.start).where(ranked.c.rank == 1)
    return [_Spells(int(sid), float(online or 0.0), last, after, start)
            for sid, online, last, after, start in session.execute(query).all()]
