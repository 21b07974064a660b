"""The activity report: what each station, ward and the city broadcast over a period."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from scheduler.reports import distinct, figures, sql, tallies
from scheduler.reports.cutoffs import Cutoffs
from scheduler.reports.periods import Period
from scheduler.reports.schemas import (
    ActivityReport,
    Comparison,
    Figures,
    StationFigures,
    WardFigures,
)
from scheduler.reports.uptime import uptimes
from scheduler.stations.models import Station


@dataclass(frozen=True)
class Measured:
    """A period's figures: the city's, each ward's and each station's."""

    totals: Figures
    wards: list[WardFigures]
    stations: list[StationFigures]


def activity(*, session: Session, period: Period, wards: list[str] | None, now: datetime,
             cutoffs: Cutoffs, compare: bool = True) -> ActivityReport:
    """Compute the report over a period (of these wards only, if given), and the change from
    the period before it unless compare is False."""
    sql.tune(session)
    current = measure(session=session, period=period, wards=wards, now=now)
    previous = None
    if compare:
        before = period.previous(cutoffs)
        past = measure(session=session, period=before, wards=wards, now=now, stations=False)
        previous = Comparison(from_=before.first, to=before.last, totals=past.totals,
                              wards=past.wards)
    return ActivityReport(from_=period.first, to=period.last, timezone=period.timezone,
                          period=period.name, title=period.title(), wards_filter=wards,
                          generated_at=now, totals=current.totals, wards=current.wards,
                          stations=current.stations, previous=previous)


def measure(*, session: Session, period: Period, wards: list[str] | None, now: datetime,
            stations: bool = True) -> Measured:
    """Compute a period's figures; without stations, their distinct bulletins are not
    counted (a comparison shows the city and the wards only)."""
    each = _each_station(session, period, wards, now)
    bulletins = distinct.distinct_bulletins(session=session, period=period, wards=wards,
                                            stations=stations)
    for sid, count in bulletins.stations.items():
        if sid in each:
            each[sid].bulletins = count
    ordered = [figures.rounded(station) for station in each.values()]
    by_ward = [figures.rounded(figures.add_up(
        WardFigures(ward=ward, stations=len(members)), members,
        bulletins=bulletins.wards.get(ward, 0)))
        for ward, members in ((w, list(m)) for w, m in groupby(ordered, key=lambda s: s.ward))]
    totals = figures.rounded(figures.add_up(Figures(), by_ward, bulletins=bulletins.city))
    return Measured(totals, by_ward, ordered if stations else [])


def _each_station(session: Session, period: Period, wards: list[str] | None,
                  now: datetime) -> dict[int, StationFigures]:
    """Each station's figures but its distinct bulletins, in the order reports list them."""
    counted = tallies.counted(session=session, period=period, wards=wards)
    known = _stations(session, period, wards, also={row.station_id for row in counted})
    each = {row.id: StationFigures(station_id=row.id, name=row.name, ward=row.ward,
                                   timezone=row.timezone) for row in known}
    for row in counted:
        figures.add_counted(each[row.station_id], row)
    for kind in tallies.on_air(session=session, period=period, wards=wards):
        figures.add_on_air(each[kind.station_id], kind)
    for sid, name, seconds in tallies.relayed(session=session, period=period, wards=wards):
        each[sid].by_stream[name] = each[sid].by_stream.get(name, 0.0) + seconds
    for sid, reasons in tallies.not_played(session=session, period=period, wards=wards).items():
        each[sid].not_played_by_reason = reasons
    for sid, uptime in uptimes(session=session, period=period, wards=wards, now=now,
                               created={row.id: row.created_at for row in known}).items():
        figures.add_uptime(each[sid], uptime)
    return each


def _stations(session: Session, period: Period, wards: list[str] | None, *,
              also: set[int]) -> Sequence[Row[Any]]:
    """The stations a report lists, by ward then name: those registered before the period
    ended, and any other the ledger has playbacks of in it."""
    columns = (Station.id, Station.name, Station.ward, Station.timezone, Station.created_at)
    query = select(*columns).where(Station.created_at < sql.instant(period.end, "end"))
    if wards is not None:
        query = query.where(Station.ward.in_(wards))
    found: list[Row[Any]] = list(session.execute(query))
    missing = also - {row.id for row in found}
    if missing:  # registered after the period: a clock set wrong, an import
        found += session.execute(select(*columns).where(Station.id.in_(sorted(missing))))
    return sorted(found, key=lambda row: (row.ward, row.name, row.id))
