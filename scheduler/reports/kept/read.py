"""Which part of a report's period is read from kept tallies and which is counted live.

The core (the period's whole tally months, up to the horizon) is read from kept rows for
the stations whose rows are fresh; the edges, and the core of stale stations, are counted
from the ledger. Freshness is decided inside each pass's own statement (the `state` CTE), so
a fill or a trigger committing between two statements cannot make a pass count a month
twice or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CTE, BindParameter, and_, bindparam, case, exists, func, null, select
from sqlalchemy.orm import Session

from scheduler.db import UtcDateTime
from scheduler.reports.kept.models import Generation, Horizon, Kept
from scheduler.reports.kept.months import Months
from scheduler.reports.periods import Period
from scheduler.stations.models import Station

ENABLED = True  # tests switch it off to compute the live figures to compare with


@dataclass(frozen=True)
class Split:
    """A period as the passes read it: live ranges for every station, and the core."""

    edges: list[tuple[datetime, datetime]]
    core: tuple[datetime, datetime] | None = None
    state: CTE | None = None  # station_id, kept (its fresh generation, NULL when stale)


def split(session: Session, period: Period, wards: list[str] | None) -> Split:
    """Split the period at the whole tally months kept (none when nothing is kept)."""
    horizon = session.scalars(select(Horizon)).first() if ENABLED else None
    if horizon is None:
        return Split([(period.start, period.end)])
    months = Months(horizon.timezone, horizon.cutoff_day)
    core = months.core(period.start, period.end, horizon.before)
    if core is None:
        return Split([(period.start, period.end)])
    edges = [(a, b) for a, b in ((period.start, core[0]), (core[1], period.end)) if a < b]
    return Split(edges, core, _state(core[1], months, wards))


def instant(value: datetime) -> BindParameter[datetime]:
    """A UTC instant as an anonymous parameter (several ranges share a statement)."""
    return bindparam(None, value, type_=UtcDateTime())


def _state(core_end: datetime, months: Months, wards: list[str] | None) -> CTE:
    same_months = exists(select(Horizon.id).where(Horizon.timezone == months.timezone,
                                                  Horizon.cutoff_day == months.day))
    fresh = and_(Kept.generation == func.coalesce(Generation.generation, 0),
                 Kept.before >= instant(core_end), same_months)
    query = (select(Station.id.label("station_id"),
                    case((fresh, Kept.generation), else_=null()).label("kept"))
             .outerjoin(Kept, Kept.station_id == Station.id)
             .outerjoin(Generation, Generation.station_id == Station.id))
    if wards is not None:
        query = query.where(Station.ward.in_(wards))
    return query.cte("tally_state")
