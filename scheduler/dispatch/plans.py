"""Build stations' whole pending plans from the ledger."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.playbacks.models import OPEN, Playback
from scheduler.stations.models import Station
from wardcast.protocol import Plan, PlanItem, Priority

CHUNK = 500  # stations per query: bounded IN lists, and a fan-out to 10,000 is 20 queries


def media_path(sha256: str) -> str:
    """Return the HTTP path an agent downloads a distribution file from."""
    return f"/api/v1/media/{sha256}"


def build_plan(*, session: Session, station: Station, now: datetime, late_grace: timedelta,
               horizon: timedelta) -> Plan:
    """Return every open playback of a station from now − late_grace to now + horizon."""
    return dict(build_plans(session=session, station_ids=[station.id], now=now,
                            late_grace=late_grace, horizon=horizon))[station.id]


def build_plans(*, session: Session, station_ids: Iterable[int], now: datetime,
                late_grace: timedelta, horizon: timedelta) -> Iterator[tuple[int, Plan]]:
    """Yield (station id, plan) for each existing station, a few hundred per query."""
    ids = sorted(set(station_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        stations = session.scalars(select(Station).where(Station.id.in_(chunk))).all()
        items: dict[int, list[PlanItem]] = {station.id: [] for station in stations}
        rows = session.execute(
            select(Playback, Bulletin)
            .join(Bulletin, Bulletin.id == Playback.bulletin_id)
            .where(Playback.station_id.in_(chunk), Playback.status.in_(OPEN),
                   (Playback.scheduled_at >= now - late_grace) | (Playback.play_until >= now),
                   Playback.scheduled_at <= now + horizon)
            .order_by(Playback.station_id, Playback.scheduled_at, Playback.id))
        for p, b in rows.tuples():
            items[p.station_id].append(PlanItem(
                playback_id=p.id, bulletin_id=b.id, title=b.title, scheduled_at=p.scheduled_at,
                priority=Priority(p.priority), duration_ms=b.duration_ms, sha256=b.sha256,
                media_path=media_path(b.sha256), play_until=p.play_until,
                preempt=p.broadcast_id is not None and p.priority == Priority.EMERGENCY))
        for station in sorted(stations, key=lambda s: s.id):
            station.plan_revision += 1
            yield station.id, Plan(station_id=str(station.id), revision=station.plan_revision,
                                   generated_at=now, horizon_end=now + horizon,
                                   items=items[station.id])
