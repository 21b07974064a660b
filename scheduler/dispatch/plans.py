"""Build stations' whole pending plans from the ledger."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.db import in_list, plan_with_values
from scheduler.groups import service as groups
from scheduler.playbacks.models import OPEN, Playback
from scheduler.stations.models import Station
from wardcast.protocol import Plan, PlanItem, Priority, media_path

CHUNK = 500  # stations per query: the first plans go out early; 10,000 stations are 20 chunks




def build_plan(*, session: Session, station: Station, now: datetime, late_grace: timedelta,
               horizon: timedelta) -> Plan:
    """Return every open playback of a station from now − late_grace to now + horizon."""
    return dict(build_plans(session=session, station_ids=[station.id], now=now,
                            late_grace=late_grace, horizon=horizon))[station.id]


def build_plans(*, session: Session, station_ids: Iterable[int], now: datetime,
                late_grace: timedelta, horizon: timedelta) -> Iterator[tuple[int, Plan]]:
    """Yield (station id, plan) for each existing station, a few hundred per query.

    Each plan gets the station's next revision; the revisions of a chunk are taken in one
    UPDATE ... RETURNING, and the items are read as plain rows, not ORM objects.
    """
    ids = sorted(set(station_ids))
    plan_with_values(session)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        revisions = dict(session.execute(
            update(Station).where(in_list(session, Station.id, chunk))
            .values(plan_revision=Station.plan_revision + 1)
            .returning(Station.id, Station.plan_revision)).all())
        items: dict[int, list[PlanItem]] = {station_id: [] for station_id in revisions}
        rows = session.execute(
            select(Playback.station_id, Playback.id, Playback.scheduled_at, Playback.priority,
                   Playback.play_until, Playback.broadcast_id, Playback.repeat_index,
                   Bulletin.id, Bulletin.title,
                   Bulletin.duration_ms, Bulletin.sha256)
            .join(Bulletin, Bulletin.id == Playback.bulletin_id)
            .where(in_list(session, Playback.station_id, chunk), Playback.status.in_(OPEN),
                   (Playback.scheduled_at >= now - late_grace) | (Playback.play_until >= now),
                   Playback.scheduled_at <= now + horizon)
            .order_by(Playback.station_id, Playback.scheduled_at, Playback.id))
        for (station_id, playback_id, scheduled_at, priority, play_until, broadcast_id,
             repeat_index, bulletin_id, title, duration_ms, sha256) in rows:
            items[station_id].append(PlanItem(
                playback_id=playback_id, bulletin_id=bulletin_id, title=title,
                scheduled_at=scheduled_at, priority=Priority(priority), duration_ms=duration_ms,
                sha256=sha256, media_path=media_path(sha256), play_until=play_until,
                preempt=broadcast_id is not None and priority == Priority.EMERGENCY,
                # a broadcast's is also named by broadcast and repeat: its agent may hold it
                # already, from the broadcast's group message
                broadcast_id=broadcast_id if repeat_index is not None else None,
                repeat_index=repeat_index))
        member_of = groups.memberships(session=session, station_ids=revisions)
        for station_id in sorted(revisions):
            yield station_id, Plan(station_id=str(station_id), revision=revisions[station_id],
                                   generated_at=now, horizon_end=now + horizon,
                                   items=items[station_id], groups=member_of[station_id])
