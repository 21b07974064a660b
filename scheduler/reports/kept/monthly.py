"""The report's three additive passes, for some stations, grouped by tally month too, each
row stamped with its station's generation as the same snapshot reads it; and the station's
bulletins of each month by when each last aired there before it (bulletins.py).

The same expressions as tallies.counted, on_air and not_played, over a subquery that adds
each playback's tally month (a CASE over the months' starts: SQLite has no time zones, and
PostgreSQL then agrees with Months to the microsecond). Missed and failed are kept by their
whole reason, as the live pass groups them; the report turns both into codes alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.db import in_list
from scheduler.playbacks.models import Playback
from scheduler.reports import segments, sql, tallies
from scheduler.reports.kept import bulletins
from scheduler.reports.kept.models import (
    Generation,
    KeptBulletins,
    KeptCounted,
    KeptNotPlayed,
    KeptOnAir,
    KeptUptime,
)
from scheduler.reports.kept.read import instant
from scheduler.reports.schemas import UNCATEGORISED
from scheduler.stations.models import StationSpell

Counting = tuple[Any, list[str], Select[Any]]  # the kept table, its columns, the query


def _month(starts: Sequence[datetime], before: datetime) -> ColumnElement[datetime]:
    ends = [*starts[1:], before]
    return case(*[(Playback.scheduled_at < instant(end), instant(start))
                  for start, end in zip(starts, ends, strict=True)])


def _where(session: Session, stations: Sequence[int], starts: Sequence[datetime],
           before: datetime) -> list[ColumnElement[bool]]:
    return [in_list(session, Playback.station_id, stations),
            Playback.scheduled_at >= instant(starts[0]), Playback.scheduled_at < instant(before)]


def _stamped(rows: Any, keys: tuple[Any, ...], *figures: Any) -> Select[Any]:
    generation = func.coalesce(Generation.generation, 0)
    return (select(*keys, *figures, generation)
            .outerjoin(Generation, Generation.station_id == rows.c.station_id)
            .group_by(*keys, Generation.generation))


def countings(session: Session, stations: Sequence[int], starts: Sequence[datetime],
              before: datetime) -> list[Counting]:
    """The four passes and the online time as queries whose rows are the kept tables'
    rows (a spell still open runs to `before`: the months end by then)."""
    where = _where(session, stations, starts, before)
    month = _month(starts, before).label("month_start")
    rows = (select(Playback.station_id, month, Playback.status, Playback.priority,
                   Playback.started_at, Playback.finished_at).where(*where).subquery())
    counted = _stamped(rows, (rows.c.station_id, rows.c.month_start, rows.c.status),
                       *tallies.counted_columns(session, rows.c))
    language, category, topic = tallies.on_air_key()
    rows = (select(Playback.station_id, month, language.label("language"),
                   category.label("category"),
                   func.coalesce(topic, sql.text_literal(UNCATEGORISED)).label("topic"),
                   Playback.started_at, Playback.finished_at)
            .join(Bulletin, Bulletin.id == Playback.bulletin_id)
            .where(*where, Playback.status.in_(tallies.ON_AIR)).subquery())
    on_air = _stamped(rows, (rows.c.station_id, rows.c.month_start, rows.c.language,
                             rows.c.category, rows.c.topic),
                      sql.total_seconds(session, rows.c.started_at, rows.c.finished_at))
    rows = (select(Playback.station_id, month, func.coalesce(Playback.reason, "")
                   .label("reason"))
            .where(*where, Playback.status.in_(tallies.NOT_PLAYED)).subquery())
    not_played = _stamped(rows, (rows.c.station_id, rows.c.month_start, rows.c.reason),
                          func.count())
    aired = bulletins.months(select(Playback.station_id.label("station_id"))
                             .where(in_list(session, Playback.station_id, stations)),
                             starts, before)
    by_prev = (_stamped(aired, (aired.c.station_id, aired.c.month_start, aired.c.prev_at),
                        func.count())
             .where(aired.c.month_start >= instant(starts[0])))
    ends = [*starts[1:], before]
    online = segments.segments(session, list(zip(starts, ends, strict=True)), before,
                               in_list(session, StationSpell.station_id, stations)).subquery()
    uptime = (select(*online.c, func.coalesce(Generation.generation, 0))
              .outerjoin(Generation, Generation.station_id == online.c.station_id))
    keys = ["station_id", "month_start"]
    return [(KeptCounted, [*keys, "status", "n", "emergencies", "seconds", "generation"],
             counted),
            (KeptOnAir, [*keys, "language", "category", "topic", "seconds", "generation"],
             on_air),
            (KeptNotPlayed, [*keys, "reason", "n", "generation"], not_played),
            (KeptBulletins, [*keys, "prev_at", "n", "generation"], by_prev),
            (KeptUptime, [*keys, "online", "first_on", "last_off", "gap_start", "gap_end",
                          "generation"], uptime)]
