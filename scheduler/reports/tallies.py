"""What the ledger says about a period, counted in SQL station by station.

No playback row ever reaches Python: each query groups by station (and by state, by the
bulletin's language and category, or by the reason of those not played), so what comes
back is bounded by the stations, not by the playbacks. Three passes over the period's
playbacks, which PostgreSQL splits between workers, one short look per station, and one
over those not played.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import ColumnElement, case, distinct, func, null, select, union_all
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.playbacks import reasons
from scheduler.playbacks.models import Playback, PlaybackStatus
from scheduler.reports import sql
from scheduler.reports.periods import Period
from scheduler.reports.schemas import UNCATEGORISED
from scheduler.stations.models import Station
from wardcast.protocol import Priority

ON_AIR = (PlaybackStatus.PLAYED.value, PlaybackStatus.INTERRUPTED.value)
NOT_PLAYED = (PlaybackStatus.MISSED.value, PlaybackStatus.FAILED.value)
REASON_CHARS = 80  # a reason without a code is grouped by its text, cut to this length


class Counted(NamedTuple):
    """How many of a station's playbacks ended in (or are still in) one state."""

    station_id: int
    status: str
    n: int
    emergencies: int
    seconds: float  # Σ finished_at − started_at (counted on air only for played, interrupted)


class OnAir(NamedTuple):
    """A station's seconds on air with bulletins of one language, category and topic."""

    station_id: int
    language: str
    category: str
    topic: str
    seconds: float


@dataclass
class Distinct:
    """How many distinct bulletins went on air: they do not add up, so each level is counted."""

    stations: dict[int, int] = field(default_factory=dict)
    wards: dict[str, int] = field(default_factory=dict)
    city: int = 0


def in_period(period: Period, wards: list[str] | None) -> list[ColumnElement[bool]]:
    """The playbacks of a period (by slot), of these wards' stations if any are given."""
    where = [Playback.scheduled_at >= sql.instant(period.start, "start"),
             Playback.scheduled_at < sql.instant(period.end, "end")]
    if wards is not None:
        where.append(Playback.station_id.in_(select(Station.id).where(Station.ward.in_(wards))))
    return where


def counted(*, session: Session, period: Period, wards: list[str] | None) -> list[Counted]:
    """Count each station's playbacks by state, with their emergencies and seconds."""
    emergency = case((Playback.priority == Priority.EMERGENCY.value, 1), else_=0)
    query = (select(Playback.station_id, Playback.status, func.count(), func.sum(emergency),
                    sql.total_seconds(session, Playback.started_at, Playback.finished_at))
             .where(*in_period(period, wards))
             .group_by(Playback.station_id, Playback.status))
    return [Counted(int(sid), str(status), int(n), int(emergencies or 0), float(seconds or 0.0))
            for sid, status, n, emergencies, seconds in session.execute(query)]


def not_played(*, session: Session, period: Period, wards: list[str] | None
               ) -> dict[int, dict[str, int]]:
    """Count each station's missed and failed playbacks by the code of their reason."""
    found: dict[int, dict[str, int]] = {}
    # a few per cent of the playbacks, found by (status, scheduled_at); grouped by the whole
    # reason here (few distinct ones), by its code in reason_key (grouping by the reason in
    # the pass above cost more than this one)
    for sid, reason, n in session.execute(
            select(Playback.station_id, Playback.reason, func.count())
            .where(*in_period(period, wards), Playback.status.in_(NOT_PLAYED))
            .group_by(Playback.station_id, Playback.reason)):
        mine = found.setdefault(int(sid), {})
        key = reason_key(reason)
        mine[key] = mine.get(key, 0) + int(n)
    return found


def on_air(*, session: Session, period: Period, wards: list[str] | None) -> list[OnAir]:
    """Add up each station's seconds on air by the bulletins' language, category and topic."""
    category = func.coalesce(Bulletin.category, sql.text_literal(UNCATEGORISED))
    query = (select(Playback.station_id, Bulletin.language, category, Bulletin.topic,
                    sql.total_seconds(session, Playback.started_at, Playback.finished_at))
             .join(Bulletin, Bulletin.id == Playback.bulletin_id)
             .where(*in_period(period, wards), Playback.status.in_(ON_AIR))
             .group_by(Playback.station_id, Bulletin.language, category, Bulletin.topic))
    return [OnAir(int(sid), str(language), str(kind), str(topic or UNCATEGORISED),
                  float(seconds or 0.0))
            for sid, language, kind, topic, seconds in session.execute(query)]


def distinct_bulletins(*, session: Session, period: Period, wards: list[str] | None,
                       stations: bool = True) -> Distinct:
    """Count the distinct bulletins on air per station (unless not wanted), ward and city."""
    found = Distinct()
    if stations:
        found.stations = _per_station(session, period, wards)
    # the wards' bulletins (a few hundred each) hold the city's too: one pass for both
    pairs = (select(Station.ward, Playback.bulletin_id)
             .join(Station, Station.id == Playback.station_id)
             .where(*in_period(period, wards), Playback.status.in_(ON_AIR)).distinct()
             .cte("ward_bulletins"))
    query = union_all(select(pairs.c.ward, func.count()).group_by(pairs.c.ward),
                      select(null(), func.count(distinct(pairs.c.bulletin_id))))
    for ward, n in session.execute(query):
        if ward is None:
            found.city = int(n)
        else:
            found.wards[str(ward)] = int(n)
    return found


def _per_station(session: Session, period: Period, wards: list[str] | None) -> dict[int, int]:
    # station by station, each a range of the (station_id, scheduled_at) index: a hash of
    # every (station, bulletin) pair would hold millions of entries
    each = (select(func.count(distinct(Playback.bulletin_id)))
            .where(Playback.station_id == Station.id, *in_period(period, None),
                   Playback.status.in_(ON_AIR))
            .correlate(Station).scalar_subquery())
    query = select(Station.id, each)
    if wards is not None:
        query = query.where(Station.ward.in_(wards))
    return {int(sid): int(n) for sid, n in session.execute(query) if n}


def reason_key(reason: str | None) -> str:
    """Return what a reason is counted under: its code, else its text (cut)."""
    return reasons.code(reason) or (reason or "").strip()[:REASON_CHARS]
