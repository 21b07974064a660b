"""How many distinct bulletins went on air, per station, per ward and for the city.

They do not add up, so each level is counted. Over a period's whole tally months that are
kept (kept/bulletins.py), each month's rows count the bulletins whose last airing before
the month was before the period began; what the kept rows cannot answer is counted from the
ledger: the edges (a bulletin of the trailing edge only when it did not air in the same
scope since the period began), and the stations, wards or city whose kept rows are stale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    distinct,
    exists,
    func,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from scheduler.playbacks.models import Playback
from scheduler.reports import tallies
from scheduler.reports.kept import read, scopes
from scheduler.reports.kept.models import KeptBulletins, Scope, ScopeBulletins
from scheduler.reports.periods import Period
from scheduler.stations.models import Station


@dataclass
class Distinct:
    """The distinct bulletins on air of each station, ward and of the city."""

    stations: dict[int, int] = field(default_factory=dict)
    wards: dict[str, int] = field(default_factory=dict)
    city: int = 0


def distinct_bulletins(*, session: Session, period: Period, wards: list[str] | None,
                       stations: bool = True) -> Distinct:
    """Count the distinct bulletins on air per station (unless not wanted), ward and city."""
    split = read.split(session, period, wards)
    if split.core is None or split.state is None:
        found = Distinct(stations=_live_stations(session, period, wards) if stations else {})
        found.wards, city = _live_wards(session, period.start, period.end, wards)
        found.city = city or 0
        return found
    edges = _Edges(period.start, split.core, split.edges)
    found = Distinct()
    if stations:
        found.stations = _kept_stations(session, period, split.state, edges)
    fresh = scopes.fresh(session, split.core[1])
    chosen = sorted(ward for ward in fresh if ward is not None
                    and (wards is None or ward in wards))
    found.wards = {str(ward): n for ward, n in _kept_scopes(session, edges, chosen).items()}
    stale = None if wards is None else sorted(set(wards) - fresh)
    if wards is None:
        stale = [str(ward) for ward in session.scalars(select(Station.ward).distinct())
                 if ward not in fresh]
    if stale:
        found.wards |= _live_wards(session, period.start, period.end, stale, city=False)[0]
    if wards is None and scopes.CITY in fresh:
        found.city = _kept_scopes(session, edges, None).get(scopes.CITY, 0)
    elif wards is not None and len(wards) == 1:
        found.city = found.wards.get(wards[0], 0)
    else:
        found.city = _live_wards(session, period.start, period.end, wards)[1] or 0
    return found


@dataclass(frozen=True)
class _Edges:
    """A period's start, its kept core, and its edges counted live."""

    start: datetime
    core: tuple[datetime, datetime]
    ranges: list[tuple[datetime, datetime]]

    def counts(self, scoped: Select[Any], same: Same) -> list[Select[Any]]:
        """Queries of (scope keys..., n): how many bulletins each scope (the columns that
        `scoped` selects over Playback, with its joins and conditions) aired in the edges
        that it had not aired before in the period: in the leading edge, all of them; in
        the trailing one, those whose bulletin did not air since the period began, or not
        in the same scope (`same`: conditions on Earlier, a playback of the same bulletin).
        Most of the trailing edge's bulletins are new, found so bulletin by bulletin on
        the bulletin-led index; only the others are looked for scope by scope."""
        on_air = and_(Playback.status.in_(tallies.ON_AIR), Playback.bulletin_id.is_not(None))
        found = []
        for lo, hi in self.ranges:
            pairs = (scoped.add_columns(Playback.bulletin_id)
                     .where(on_air, *tallies.between(lo, hi, None)).distinct().cte())
            keys = [pairs.c[column.name] for column in scoped.selected_columns]
            query = select(*keys, func.count()).select_from(pairs)
            if lo >= self.core[1]:
                aired = select(Earlier.id).where(
                    Earlier.status.in_(tallies.ON_AIR),
                    Earlier.scheduled_at >= read.instant(self.start),
                    Earlier.scheduled_at < read.instant(lo))
                bulletins = select(pairs.c.bulletin_id).distinct().subquery()
                old = select(bulletins.c.bulletin_id).where(exists(aired.where(
                    Earlier.bulletin_id == bulletins.c.bulletin_id)))
                again = exists(aired.where(Earlier.bulletin_id == pairs.c.bulletin_id,
                                           *same(pairs)))
                query = query.where(or_(pairs.c.bulletin_id.not_in(old), ~again))
            found.append(query.group_by(*keys))
        return found


Earlier = aliased(Playback, name="earlier")
Neighbour = aliased(Station, name="neighbour")  # a station of the same ward
Same = Callable[[Any], list[ColumnElement[bool]]]


def _kept_stations(session: Session, period: Period, state: Any, edges: _Edges
                   ) -> dict[int, int]:
    """Fresh stations: their kept months and their edges; stale ones: all live."""
    kept = (select(KeptBulletins.station_id, KeptBulletins.generation,
                   func.sum(KeptBulletins.n).label("n"))
            .where(*_kept_months(KeptBulletins, edges))
            .group_by(KeptBulletins.station_id, KeptBulletins.generation).subquery())
    parts: list[Select[Any]] = [
        select(kept.c.station_id, kept.c.n)
        .join(state, and_(state.c.station_id == kept.c.station_id,
                          state.c.kept == kept.c.generation)),
        select(state.c.station_id,
               _each_station(tallies.in_period(period, None), state.c.station_id))
        .where(state.c.kept.is_(None))]
    parts += edges.counts(select(Playback.station_id.label("station_id"))
                          .join(state, state.c.station_id == Playback.station_id)
                          .where(state.c.kept.is_not(None)),
                          lambda pairs: [Earlier.station_id == pairs.c.station_id])
    found: dict[int, int] = {}
    for sid, n in session.execute(union_all(*parts)).all():
        if n:
            found[int(sid)] = found.get(int(sid), 0) + int(n)
    return found


def _each_station(where: Sequence[ColumnElement[bool]], station_id: Any) -> Any:
    """The distinct bulletins of the outer query's station (`station_id`) in `where`."""
    # station by station, each a range of the (station_id, scheduled_at) index: a hash of
    # every (station, bulletin) pair would hold millions of entries
    return (select(func.count(distinct(Playback.bulletin_id)))
            .where(Playback.station_id == station_id, *where,
                   Playback.status.in_(tallies.ON_AIR))
            .correlate_except(Playback).scalar_subquery())


def _kept_months(table: Any, edges: _Edges) -> list[ColumnElement[bool]]:
    return [table.month_start >= read.instant(edges.core[0]),
            table.month_start < read.instant(edges.core[1]),
            or_(table.prev_at.is_(None), table.prev_at < read.instant(edges.start))]


def _kept_scopes(session: Session, edges: _Edges, wards: list[str] | None
                 ) -> dict[str | None, int]:
    """These fresh wards' kept months and edges, or with None the city's (scopes.CITY)."""
    if wards == []:
        return {}
    found: dict[str | None, int] = {}
    scope = Scope.ward.is_(None) if wards is None else Scope.ward.in_(wards)
    for ward, n in session.execute(
            select(Scope.ward, func.sum(ScopeBulletins.n))
            .join(ScopeBulletins, ScopeBulletins.scope_id == Scope.id)
            .where(scope, *_kept_months(ScopeBulletins, edges)).group_by(Scope.ward)):
        found[ward] = int(n)
    if wards is None:
        counts = edges.counts(select().select_from(Playback), lambda pairs: [])
    else:
        counts = edges.counts(select(Station.ward.label("ward"))
                              .join(Station, Station.id == Playback.station_id)
                              .where(Station.ward.in_(wards)),
                              lambda pairs: [Neighbour.id == Earlier.station_id,
                                             Neighbour.ward == pairs.c.ward])
    for query in counts:
        for *key, n in session.execute(query):
            ward = key[0] if key else scopes.CITY
            found[ward] = found.get(ward, 0) + int(n)
    return found


def _live_stations(session: Session, period: Period, wards: list[str] | None
                   ) -> dict[int, int]:
    query = select(Station.id, _each_station(tallies.in_period(period, None), Station.id))
    if wards is not None:
        query = query.where(Station.ward.in_(wards))
    return {int(sid): int(n) for sid, n in session.execute(query).all() if n}


def _live_wards(session: Session, start: datetime, end: datetime, wards: list[str] | None,
                *, city: bool = True) -> tuple[dict[str, int], int | None]:
    """The wards' distinct bulletins from the ledger, and the city's (of these wards)."""
    # the wards' bulletins (a few hundred each) hold the city's too: one pass for both
    pairs = (select(Station.ward, Playback.bulletin_id)
             .join(Station, Station.id == Playback.station_id)
             .where(*tallies.between(start, end, wards), Playback.status.in_(tallies.ON_AIR),
                    Playback.bulletin_id.is_not(None))  # relays play no bulletin
             .distinct().cte("ward_bulletins"))
    parts = [select(pairs.c.ward, func.count()).group_by(pairs.c.ward)]
    if city:
        parts.append(select(null(), func.count(distinct(pairs.c.bulletin_id))))
    found, total = {}, None
    for ward, n in session.execute(union_all(*parts)).all():
        if ward is None:
            total = int(n)
        else:
            found[str(ward)] = int(n)
    return found, total
