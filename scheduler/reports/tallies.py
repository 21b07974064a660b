"""What the ledger says about a period, counted in SQL station by station.

No playback row ever reaches Python: each query groups by station (and by state, by the
bulletin's language and category, or by the reason of those not played), so what comes
back is bounded by the stations, not by the playbacks: states and seconds on air, passes
PostgreSQL splits between workers, and one over those not played. Whole past tally months
come from kept rows (kept/read.py); distinct bulletins are distinct.py's, online time
uptime.py's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    case,
    func,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.playbacks import reasons
from scheduler.playbacks.models import Playback, PlaybackStatus
from scheduler.reports import sql
from scheduler.reports.kept import read
from scheduler.reports.kept.models import KeptCounted, KeptNotPlayed, KeptOnAir
from scheduler.reports.periods import Period
from scheduler.reports.schemas import LIVE_SOURCE, UNCATEGORISED
from scheduler.stations.models import Station
from scheduler.streams.models import Stream, StreamKind
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


def in_period(period: Period, wards: list[str] | None) -> list[ColumnElement[bool]]:
    """The playbacks of a period (by slot), of these wards' stations if any are given."""
    return between(period.start, period.end, wards)


def between(start: datetime, end: datetime, wards: list[str] | None
            ) -> list[ColumnElement[bool]]:
    """The playbacks slotted in [start, end), of these wards' stations if any are given."""
    where = [Playback.scheduled_at >= read.instant(start),
             Playback.scheduled_at < read.instant(end)]
    if wards is not None:
        where.append(Playback.station_id.in_(select(Station.id).where(Station.ward.in_(wards))))
    return where


def _live_and_kept(live: Any, group: tuple[SQLColumnExpression[Any], ...], kept: Any,
                   table: Any, split: read.Split, wards: list[str] | None) -> Any:
    """One statement: the live pass over the edges and the stale stations' core, and the
    kept rows of the fresh stations' core (rows of one station and key may repeat: the
    figures add them up)."""
    parts = [live.where(*between(start, end, wards)).group_by(*group)
             for start, end in split.edges]
    if split.core is not None and split.state is not None:
        state = split.state
        parts.append(live.join(state, state.c.station_id == Playback.station_id)
                     .where(state.c.kept.is_(None), *between(*split.core, None))
                     .group_by(*group))
        # summed before the join: PostgreSQL misjudges the (station, generation) join by
        # two hundredfold and then sorts a million kept rows to group them
        summed = (kept.add_columns(table.generation.label("kept_generation"))
                  .group_by(table.generation)
                  .where(table.month_start >= read.instant(split.core[0]),
                         table.month_start < read.instant(split.core[1])).subquery())
        parts.append(select(*[c for c in summed.c if c.name != "kept_generation"])
                     .join(state, and_(state.c.station_id == summed.c.station_id,
                                       state.c.kept == summed.c.kept_generation)))
    return parts[0] if len(parts) == 1 else union_all(*parts)


def counted_columns(session: Session, rows: Any = Playback
                    ) -> tuple[SQLColumnExpression[Any], ...]:
    """What counted() adds up per group of playbacks (or of a subquery's rows with the same
    columns: the fill groups by tally month too)."""
    emergency = case((rows.priority == Priority.EMERGENCY.value, 1), else_=0)
    return (func.count(), func.sum(emergency),
            sql.total_seconds(session, rows.started_at, rows.finished_at))


def counted(*, session: Session, period: Period, wards: list[str] | None) -> list[Counted]:
    """Count each station's playbacks by state, with their emergencies and seconds."""
    group: tuple[SQLColumnExpression[Any], ...] = (Playback.station_id, Playback.status)
    live = select(*group, *counted_columns(session))
    kept = (select(KeptCounted.station_id, KeptCounted.status, func.sum(KeptCounted.n),
                   func.sum(KeptCounted.emergencies), func.sum(KeptCounted.seconds))
            .group_by(KeptCounted.station_id, KeptCounted.status))
    query = _live_and_kept(live, group, kept, KeptCounted, read.split(session, period, wards),
                           wards)
    return [Counted(int(sid), str(status), int(n), int(emergencies or 0), float(seconds or 0.0))
            for sid, status, n, emergencies, seconds in session.execute(query).all()]


def not_played(*, session: Session, period: Period, wards: list[str] | None
               ) -> dict[int, dict[str, int]]:
    """Count each station's missed and failed playbacks by the code of their reason."""
    found: dict[int, dict[str, int]] = {}
    # a few per cent of the playbacks, found by (status, scheduled_at); grouped by the whole
    # reason here (few distinct ones), by its code in reason_key (grouping by the reason in
    # the pass above cost more than this one); kept rows hold whole reasons too
    group: tuple[SQLColumnExpression[Any], ...] = (Playback.station_id, Playback.reason)
    live = select(*group, func.count()).where(Playback.status.in_(NOT_PLAYED))
    kept: Any = (select(KeptNotPlayed.station_id, KeptNotPlayed.reason, func.sum(KeptNotPlayed.n))
                 .group_by(KeptNotPlayed.station_id, KeptNotPlayed.reason))
    query = _live_and_kept(live, group, kept, KeptNotPlayed,
                           read.split(session, period, wards), wards)
    for sid, reason, n in session.execute(query).all():
        mine = found.setdefault(int(sid), {})
        key = reason_key(reason)
        mine[key] = mine.get(key, 0) + int(n)
    return found


def on_air_key() -> tuple[SQLColumnExpression[Any], ...]:
    """The bulletin's language, category and topic as on_air() groups them."""
    return (Bulletin.language, func.coalesce(Bulletin.category, sql.text_literal(UNCATEGORISED)),
            Bulletin.topic)


def on_air(*, session: Session, period: Period, wards: list[str] | None) -> list[OnAir]:
    """Add up each station's seconds on air by the bulletins' language, category and topic."""
    group = (Playback.station_id, *on_air_key())
    live = (select(*group, sql.total_seconds(session, Playback.started_at, Playback.finished_at))
            .join(Bulletin, Bulletin.id == Playback.bulletin_id)
            .where(Playback.status.in_(ON_AIR)))
    kept = (select(KeptOnAir.station_id, KeptOnAir.language, KeptOnAir.category,
                   KeptOnAir.topic, func.sum(KeptOnAir.seconds))
            .group_by(KeptOnAir.station_id, KeptOnAir.language, KeptOnAir.category,
                      KeptOnAir.topic))
    query = _live_and_kept(live, group, kept, KeptOnAir, read.split(session, period, wards),
                           wards)
    return [OnAir(int(sid), str(language), str(kind), str(topic or UNCATEGORISED),
                  float(seconds or 0.0))
            for sid, language, kind, topic, seconds in session.execute(query).all()]


def relayed(*, session: Session, period: Period, wards: list[str] | None
            ) -> list[tuple[int, str, float]]:
    """Add up each station's seconds on air relaying each stream, by the stream's name; every
    live session's under LIVE_SOURCE.

    From the ledger over the whole period (no kept rows: relays are few, found on their
    stream's index)."""
    source = case((Stream.kind == StreamKind.LIVE.value, LIVE_SOURCE), else_=Stream.name)
    query = (select(Playback.station_id, source,
                    sql.total_seconds(session, Playback.started_at, Playback.finished_at))
             .join(Stream, Stream.id == Playback.stream_id)
             .where(Playback.status.in_(ON_AIR), *in_period(period, wards))
             .group_by(Playback.station_id, source))
    return [(int(sid), str(name), float(seconds or 0.0))
            for sid, name, seconds in session.execute(query).all()]


def reason_key(reason: str | None) -> str:
    """Return what a reason is counted under: its code, else its text (cut)."""
    return reasons.code(reason) or (reason or "").strip()[:REASON_CHARS]
