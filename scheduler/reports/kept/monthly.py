"""The report's three additive passes, for some stations, grouped by tally month too.

The same expressions as tallies.counted, on_air and not_played, over a subquery that adds
each playback's tally month (a CASE over the months' starts: SQLite has no time zones, and
PostgreSQL then agrees with Months to the microsecond).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.db import in_list
from scheduler.playbacks.models import Playback
from scheduler.reports import sql, tallies
from scheduler.reports.kept.read import instant
from scheduler.reports.schemas import UNCATEGORISED

Row = dict[str, Any]


def _month(starts: Sequence[datetime], before: datetime) -> ColumnElement[datetime]:
    ends = [*starts[1:], before]
    return case(*[(Playback.scheduled_at < instant(end), instant(start))
                  for start, end in zip(starts, ends, strict=True)])


def _where(session: Session, stations: Sequence[int], starts: Sequence[datetime],
           before: datetime) -> list[ColumnElement[bool]]:
    return [in_list(session, Playback.station_id, stations),
            Playback.scheduled_at >= instant(starts[0]), Playback.scheduled_at < instant(before)]


def counted(session: Session, stations: Sequence[int], starts: Sequence[datetime],
            before: datetime) -> list[Row]:
    rows = (select(Playback.station_id, _month(starts, before).label("month_start"),
                   Playback.status, Playback.priority, Playback.started_at, Playback.finished_at)
            .where(*_where(session, stations, starts, before)).subquery())
    query = (select(rows.c.station_id, rows.c.month_start, rows.c.status,
                    *tallies.counted_columns(session, rows.c))
             .group_by(rows.c.station_id, rows.c.month_start, rows.c.status))
    return [{"station_id": sid, "month_start": month, "status": status, "n": int(n),
             "emergencies": int(emergencies or 0), "seconds": float(seconds or 0.0)}
            for sid, month, status, n, emergencies, seconds in session.execute(query)]


def on_air(session: Session, stations: Sequence[int], starts: Sequence[datetime],
           before: datetime) -> list[Row]:
    language, category, topic = tallies.on_air_key()
    rows = (select(Playback.station_id, _month(starts, before).label("month_start"),
                   language.label("language"), category.label("category"),
                   topic.label("topic"), Playback.started_at, Playback.finished_at)
            .join(Bulletin, Bulletin.id == Playback.bulletin_id)
            .where(*_where(session, stations, starts, before),
                   Playback.status.in_(tallies.ON_AIR)).subquery())
    group = (rows.c.station_id, rows.c.month_start, rows.c.language, rows.c.category,
             rows.c.topic)
    query = (select(*group, sql.total_seconds(session, rows.c.started_at, rows.c.finished_at))
             .group_by(*group))
    return [{"station_id": sid, "month_start": month, "language": str(lang),
             "category": str(kind), "topic": str(topic or UNCATEGORISED),
             "seconds": float(seconds or 0.0)}
            for sid, month, lang, kind, topic, seconds in session.execute(query)]


def not_played(session: Session, stations: Sequence[int], starts: Sequence[datetime],
               before: datetime) -> list[Row]:
    rows = (select(Playback.station_id, _month(starts, before).label("month_start"),
                   Playback.reason)
            .where(*_where(session, stations, starts, before),
                   Playback.status.in_(tallies.NOT_PLAYED)).subquery())
    group = (rows.c.station_id, rows.c.month_start, rows.c.reason)
    found: dict[tuple[int, datetime, str], int] = {}
    for sid, month, reason, n in session.execute(select(*group, func.count()).group_by(*group)):
        key = (int(sid), month, tallies.reason_key(reason))
        found[key] = found.get(key, 0) + int(n)
    return [{"station_id": sid, "month_start": month, "reason": reason, "n": n}
            for (sid, month, reason), n in found.items()]
