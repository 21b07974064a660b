"""Each station's availability over a period and its longest outage, from its online spells.

A station is watched from the later of the period's start and its registration to the earlier
of the period's end and now. Its spells (station_spells) are clipped to that window and added
up in SQL; the gaps between them are found with a window function, so only the longest of
each station comes back, however often a station's link dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from scheduler.db import UtcDateTime
from scheduler.reports import sql
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
    online, last_until = _online(session, window)
    gaps = _longest_gaps(session, window)
    found: dict[int, Uptime] = {}
    for sid, registered in created.items():
        first = window.first(registered)
        observed = max((window.end - first).total_seconds(), 0.0)
        if observed <= 0:
            found[sid] = Uptime(0.0, 0.0, None)
            continue
        candidates = [gaps[sid]] if sid in gaps else []
        tail_from = last_until.get(sid, first)  # no spell at all: offline the whole window
        candidates.append(_outage(tail_from, window.end))
        longest = max(candidates, key=lambda o: o.seconds)
        found[sid] = Uptime(min(online.get(sid, 0.0), observed), observed,
                            longest if longest.seconds > 0 else None)
    return found


def _outage(start: datetime, end: datetime) -> Outage:
    return Outage(start=start, end=end, seconds=max((end - start).total_seconds(), 0.0))


def _clipped(window: _Window) -> tuple[list[ColumnElement[Any]], dict[str, ColumnElement[Any]]]:
    """The conditions of a station's spells that overlap its window, and their clipped ends."""
    first = sql.later(Station.created_at, sql.instant(window.start, "wstart"))
    end = sql.instant(window.end, "wend")
    until = func.coalesce(StationSpell.online_until, sql.instant(window.now, "now"),
                          type_=UtcDateTime())
    where = [StationSpell.online_from < end, until > first]
    if window.wards is not None:
        where.append(Station.ward.in_(window.wards))
    return where, {"first": first, "until": until,
                   "from": sql.later(StationSpell.online_from, first),
                   "to": sql.earlier(until, end)}


def _online(session: Session, window: _Window) -> tuple[dict[int, float], dict[int, datetime]]:
    """Return each station's online seconds in its window, and when its last spell ended."""
    where, ends = _clipped(window)
    query = (select(StationSpell.station_id,
                    sql.total_seconds(session, ends["from"], ends["to"]),
                    func.max(ends["to"], type_=UtcDateTime()))
             .join(Station, Station.id == StationSpell.station_id)
             .where(*where).group_by(StationSpell.station_id))
    online: dict[int, float] = {}
    last: dict[int, datetime] = {}
    for sid, seconds, until in session.execute(query):
        online[int(sid)], last[int(sid)] = max(float(seconds or 0.0), 0.0), until
    return online, last


def _longest_gaps(session: Session, window: _Window) -> dict[int, Outage]:
    """Return each station's longest offline stretch before one of its spells."""
    where, ends = _clipped(window)
    previous = func.lag(ends["until"], type_=UtcDateTime()).over(
        partition_by=StationSpell.station_id, order_by=StationSpell.online_from)
    gaps = (select(StationSpell.station_id.label("station_id"),
                   func.coalesce(previous, ends["first"], type_=UtcDateTime()).label("start"),
                   ends["from"].label("end"))
            .join(Station, Station.id == StationSpell.station_id).where(*where).subquery())
    length = sql.seconds(session, gaps.c.start, gaps.c.end)
    ranked = (select(gaps.c.station_id, gaps.c.start, gaps.c.end, length.label("seconds"),
                     func.row_number().over(partition_by=gaps.c.station_id,
                                            order_by=length.desc()).label("rank"))
              .subquery())
    query = select(ranked.c.station_id, ranked.c.start, ranked.c.end).where(
        ranked.c.rank == 1, ranked.c.seconds > 0)
    return {int(sid): _outage(start, end) for sid, start, end in session.execute(query)}
