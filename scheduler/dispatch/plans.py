"""Build a station's whole pending plan from the ledger."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.playbacks.models import OPEN, Playback
from scheduler.stations.models import Station
from wardcast.protocol import Plan, PlanItem, Priority


def media_path(sha256: str) -> str:
    """Return the HTTP path an agent downloads a distribution file from."""
    return f"/api/v1/media/{sha256}"


def build_plan(*, session: Session, station: Station, now: datetime, late_grace: timedelta,
               horizon: timedelta) -> Plan:
    """Return every open playback of a station from now − late_grace to now + horizon."""
    rows = session.execute(
        select(Playback, Bulletin)
        .join(Bulletin, Bulletin.id == Playback.bulletin_id)
        .where(Playback.station_id == station.id, Playback.status.in_(OPEN),
               (Playback.scheduled_at >= now - late_grace) | (Playback.play_until >= now),
               Playback.scheduled_at <= now + horizon)
        .order_by(Playback.scheduled_at, Playback.id)).all()
    items = [
        PlanItem(playback_id=p.id, bulletin_id=b.id, title=b.title, scheduled_at=p.scheduled_at,
                 priority=Priority(p.priority), duration_ms=b.duration_ms, sha256=b.sha256,
                 media_path=media_path(b.sha256), play_until=p.play_until,
                 preempt=p.broadcast_id is not None and p.priority == Priority.EMERGENCY)
        for p, b in rows
    ]
    station.plan_revision += 1
    return Plan(station_id=str(station.id), revision=station.plan_revision, generated_at=now,
                horizon_end=now + horizon, items=items)
