"""The bulletins on air in each tally month of a scope (a station, a ward's stations, the
city), each with when it had last aired in that scope before the month.

Distinct bulletins do not add up month by month, but these rows do: a bulletin is counted in
a period once, in the first of the period's months it aired in, which is the one month whose
`prev_at` (its last airing before that month) is before the period began, or NULL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, Subquery, case, func, select

from scheduler.db import UtcDateTime
from scheduler.playbacks.models import Playback
from scheduler.reports import tallies
from scheduler.reports.kept.read import instant

EARLIER = datetime(1970, 1, 1, tzinfo=UTC)  # the "month" of airings before the first kept


def months(scoped: Select[Any], starts: Sequence[datetime], before: datetime) -> Subquery:
    """One row per scope, bulletin and month from starts[0] on: the scope's columns (those
    `scoped` selects, over Playback), `month_start` and `prev_at`. Airings before starts[0]
    are read too (for `prev_at`), under the month EARLIER; the caller leaves its rows out."""
    scope = list(scoped.selected_columns)
    ends = [*starts[1:], before]
    month = case((Playback.scheduled_at < instant(starts[0]), instant(EARLIER)),
                 *[(Playback.scheduled_at < instant(end), instant(start))
                   for start, end in zip(starts, ends, strict=True)])
    aired = (scoped.add_columns(Playback.bulletin_id, month.label("month_start"),
                                Playback.scheduled_at)
             .where(Playback.status.in_(tallies.ON_AIR), Playback.bulletin_id.is_not(None),
                    Playback.scheduled_at < instant(before)).subquery())
    keys = [aired.c[column.name] for column in scope]
    last = (select(*keys, aired.c.bulletin_id, aired.c.month_start,
                   func.max(aired.c.scheduled_at, type_=UtcDateTime()).label("last_at"))
            .group_by(*keys, aired.c.bulletin_id, aired.c.month_start).subquery())
    keys = [last.c[column.name] for column in scope]
    prev = func.lag(last.c.last_at, type_=UtcDateTime()).over(
        partition_by=[*keys, last.c.bulletin_id], order_by=last.c.month_start)
    return select(*keys, last.c.month_start, prev.label("prev_at")).subquery()
