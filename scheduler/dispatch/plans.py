"""Build stations' whole pending plans from the ledger."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, and_, select, update
from sqlalchemy.orm import Session, aliased

from scheduler.bulletins.models import Bulletin, BulletinStatus
from scheduler.db import in_list, plan_with_values
from scheduler.groups import service as groups
from scheduler.playbacks import items
from scheduler.playbacks.models import OPEN, Playback
from scheduler.stations.models import Station
from scheduler.streams.models import Stream, StreamKind
from scheduler.streams.urls import Source
from wardcast.protocol import LOGIN_STATION, Plan, PlanItem, Priority, RelaySource, media_path
from wardcast.protocol import Filler as Filler_

CHUNK = 500  # stations per query: the first plans go out early; 10,000 stations are 20 chunks




Filler = aliased(Bulletin)
_ITEMS = (
    select(Playback.station_id, Playback.id, Playback.scheduled_at, Playback.priority,
           Playback.play_until, Playback.broadcast_id, Playback.repeat_index,
           Playback.bulletin_id, Playback.stream_id, items.TITLE.label("title"),
           items.DURATION_MS.label("duration_ms"), Bulletin.sha256, Stream.url,
           Stream.username, Stream.password, Stream.kind.label("stream_kind"),
           Filler.sha256.label("filler_sha256"),
           Filler.duration_ms.label("filler_ms"))
    .outerjoin(Bulletin, Bulletin.id == Playback.bulletin_id)
    .outerjoin(Stream, Stream.id == Playback.stream_id)
    # a filler the agent may fetch: approved and not archived (else the relay goes without)
    .outerjoin(Filler, and_(Filler.id == Stream.filler_bulletin_id,
                            Filler.status == BulletinStatus.APPROVED.value,
                            Filler.archived_at.is_(None))))


def _item(row: RowMapping) -> PlanItem:
    """One row of the ledger as the agent gets it: a bulletin's media, or a relay."""
    emergency = row["priority"] == Priority.EMERGENCY
    common: dict[str, Any] = {
        "playback_id": row["id"], "title": row["title"], "scheduled_at": row["scheduled_at"],
        "priority": Priority(row["priority"]), "duration_ms": row["duration_ms"],
        "play_until": row["play_until"],
        "preempt": row["broadcast_id"] is not None and emergency,
        # a broadcast's is also named by broadcast and repeat: its agent may hold it
        # already, from the broadcast's group message
        "broadcast_id": row["broadcast_id"] if row["repeat_index"] is not None else None,
        "repeat_index": row["repeat_index"]}
    if row["stream_id"] is None:
        return PlanItem(bulletin_id=row["bulletin_id"], sha256=row["sha256"],
                        media_path=media_path(row["sha256"]), **common)
    filler = (None if row["filler_sha256"] is None else
              Filler_(sha256=row["filler_sha256"], media_path=media_path(row["filler_sha256"]),
                      duration_ms=row["filler_ms"]))
    source = Source(url=row["url"], username=row["username"], password=row["password"])
    # a live session's mount: the agent logs in as its station, which the streaming server
    # checks against the session's stations (scheduler/live)
    login = LOGIN_STATION if row["stream_kind"] == StreamKind.LIVE.value else None
    return PlanItem(relay=RelaySource(url=source.address(), filler=filler, login=login),
                    **common)


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
        stamped = session.execute(
            update(Station).where(in_list(session, Station.id, chunk))
            .values(plan_revision=Station.plan_revision + 1)
            .returning(Station.id, Station.plan_revision, Station.relays)).all()
        revisions = {sid: revision for sid, revision, _ in stamped}
        relays = {sid for sid, _, can in stamped if can}
        items: dict[int, list[PlanItem]] = {station_id: [] for station_id in revisions}
        rows = session.execute(
            _ITEMS.where(in_list(session, Playback.station_id, chunk), Playback.status.in_(OPEN),
                         (Playback.scheduled_at >= now - late_grace)
                         | (Playback.play_until >= now),
                         Playback.scheduled_at <= now + horizon)
            .order_by(Playback.station_id, Playback.scheduled_at, Playback.id)).mappings()
        for row in rows:
            # an agent that does not play relays would refuse the whole plan: the watchdog
            # ends its relays `failed` (agent_cannot_relay) at their slot
            if row["stream_id"] is None or row["station_id"] in relays:
                items[row["station_id"]].append(_item(row))
        member_of = groups.memberships(session=session, station_ids=revisions)
        for station_id in sorted(revisions):
            yield station_id, Plan(station_id=str(station_id), revision=revisions[station_id],
                                   generated_at=now, horizon_end=now + horizon,
                                   items=items[station_id], groups=member_of[station_id])
