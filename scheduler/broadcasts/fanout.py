"""A broadcast fanned out by the broker: one message per group, its rows after, exactly.

The message (protocol.Urgent) carries what a member needs to play the broadcast at once;
its members are the stations whose plans list the group. Each playback is a row of the
ledger as any other, written right after the publish; an agent's event names it by
broadcast and repeat, so an event that comes back before its row is written makes the row
from the broadcast's record — only for a station the broadcast is for, and only once (the
rows are unique per broadcast, station and repeat).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, select, tuple_
from sqlalchemy.orm import Session

from scheduler.broadcasts.models import Broadcast
from scheduler.bulletins.models import Bulletin
from scheduler.db import in_list, insert_new
from scheduler.playbacks.models import Playback, PlaybackStatus
from scheduler.stations.models import Station
from wardcast.protocol import (
    Event,
    Priority,
    Urgent,
    UrgentAction,
    UrgentItem,
    broadcast_slots,
    encode,
    media_path,
    utcnow,
)

log = logging.getLogger(__name__)

# A station that changed groups this long before a broadcast may not read the group's topic
# yet (its agent subscribes once its new plan came); one that connected this long before may
# have asked for its plan before the broadcast's rows were written: each gets its plan too.
MOVED = timedelta(seconds=60)
CONNECTED = timedelta(seconds=5)
# Stations one scheduler serves a broadcast's audio to per second: 100-170 measured on a
# 2-core machine (`python -m bench.fanout --media own`, docs/benchmarks.md §2). 10,000
# members without the audio ask for it over 100 s, each answered at once, rather than all in
# one instant and most of them queued, timed out and retried.
MEDIA_FETCHES_PER_S = 100


def fetch_spread(members: int, window: timedelta) -> timedelta:
    """How long the members without a broadcast's audio spread their requests for it over:
    as long as the scheduler takes to serve them all, at most a tenth of the window (a member
    that asks last still plays well inside it)."""
    return min(timedelta(seconds=members / MEDIA_FETCHES_PER_S), window / 10)


def start_message(broadcast: Broadcast, bulletin: Bulletin, *, members: int) -> bytes:
    """The message that starts a broadcast at every member of the topic it is sent on
    (members: how many stations all its topics reach)."""
    starts_at = broadcast.starts_at or broadcast.created_at
    spread = fetch_spread(members, broadcast.valid_until - starts_at)
    return encode(Urgent(
        broadcast_id=broadcast.id, action=UrgentAction.START, sent_at=utcnow(),
        item=UrgentItem(bulletin_id=bulletin.id, title=bulletin.title,
                        priority=Priority(broadcast.priority), duration_ms=bulletin.duration_ms,
                        sha256=bulletin.sha256, media_path=media_path(bulletin.sha256),
                        starts_at=starts_at, play_until=broadcast.valid_until,
                        repeat=broadcast.repeat, gap_ms=round(broadcast.gap_s * 1000),
                        fetch_spread_ms=spread // timedelta(milliseconds=1))))


def targets_of(broadcast: Broadcast) -> frozenset[int] | None:
    """The stations a broadcast is for, as they were when it was made (None: every one)."""
    if broadcast.everyone:
        return None
    return frozenset(json.loads(broadcast.targets or "[]"))


def write_rows(*, session: Session, broadcast: Broadcast, duration_ms: int,
               station_ids: Iterable[int]) -> None:
    """Write the broadcast's playbacks at these stations; rows already there (made from an
    agent's event) stay as they are."""
    ids = list(station_ids)
    if not ids:
        return
    starts_at = broadcast.starts_at or broadcast.created_at
    slots = broadcast_slots(starts_at=starts_at, window=broadcast.valid_until - starts_at,
                            duration_ms=duration_ms, gap_ms=round(broadcast.gap_s * 1000),
                            repeat=broadcast.repeat)
    now = utcnow()
    session.execute(insert_new(session, cast(Table, Playback.__table__)), [
        {"broadcast_id": broadcast.id, "station_id": station_id, "repeat_index": k,
         "bulletin_id": broadcast.bulletin_id, "stream_id": broadcast.stream_id,
         "duration_ms": duration_ms if broadcast.stream_id is not None else None,
         "scheduled_at": start, "play_until": until,
         "priority": broadcast.priority, "status": PlaybackStatus.PLANNED.value,
         "created_at": now, "updated_at": now}
        for station_id in ids for k, (start, until) in enumerate(slots)])


def needs_media(*, session: Session, station_id: int, sha256: str, now: datetime) -> bool:
    """Tell whether a fanned-out broadcast still in its window gives this station this
    audio before its rows are written: its members fetch the media as its message arrives.
    Once the station's rows exist, they decide (playbacks.service.needs_media)."""
    found = session.scalars(
        select(Broadcast).join(Bulletin, Bulletin.id == Broadcast.bulletin_id)
        .where(Bulletin.sha256 == sha256, Broadcast.starts_at.is_not(None),
               Broadcast.valid_until >= now)
        .where(~select(Playback.id).where(Playback.broadcast_id == Broadcast.id,
                                          Playback.station_id == station_id).exists()))
    for broadcast in found:
        targets = targets_of(broadcast)
        if targets is None or station_id in targets:
            return True
    return False


def late_listeners(*, session: Session, station_ids: Sequence[int],
                   since: datetime) -> list[int]:
    """The stations that may not have heard a group message sent at `since`: offline, online
    only since shortly before, moved into a group shortly before, or whose agent does not
    read group topics (an older agent)."""
    if not station_ids:
        return []
    return list(session.scalars(
        select(Station.id).where(in_list(session, Station.id, list(station_ids)))
        .where(~Station.online | (Station.online_since.is_(None)) | ~Station.reads_groups
               | (Station.online_since >= since - CONNECTED)
               | (Station.groups_changed_at >= since - MOVED))))


def name_playbacks(*, session: Session,
                   reports: Sequence[tuple[int, Event]]) -> list[tuple[int, Event]]:
    """Give each (station id, event) that names a broadcast and repeat its playback id,
    writing the row from the broadcast if it is not there yet; an event that names no
    playback of its station's (another station's broadcast, an unknown repeat) keeps none,
    and the ledger keeps it as evidence only."""
    wanted = {ref for station_id, event in reports if (ref := _ref(station_id, event))}
    if not wanted:
        return list(reports)
    found = _rows(session, wanted)
    missing = wanted - set(found)
    if missing:
        _make_rows(session, missing)
        found |= _rows(session, missing)
    named: list[tuple[int, Event]] = []
    for station_id, event in reports:
        ref = _ref(station_id, event)
        if ref is not None and ref in found:
            event = event.model_copy(update={"playback_id": found[ref]})
        named.append((station_id, event))
    return named


Ref = tuple[int, int, int]  # broadcast, station, repeat


def _ref(station_id: int, event: Event) -> Ref | None:
    if event.playback_id is None and event.broadcast_id is not None \
            and event.repeat_index is not None:
        return event.broadcast_id, station_id, event.repeat_index
    return None


def _rows(session: Session, refs: set[Ref]) -> dict[Ref, int]:
    broadcasts = sorted({b for b, _, _ in refs})
    rows = session.execute(
        select(Playback.broadcast_id, Playback.station_id, Playback.repeat_index, Playback.id)
        .where(in_list(session, Playback.broadcast_id, broadcasts))
        .where(tuple_(Playback.broadcast_id, Playback.station_id, Playback.repeat_index)
               .in_(sorted(refs))))
    return {(b, s, k): pid for b, s, k, pid in rows if b is not None and k is not None}


def _make_rows(session: Session, refs: set[Ref]) -> None:
    """Write the rows events name before `write_rows` did: of stations the broadcast is for,
    of repeats it has."""
    by_broadcast: dict[int, set[tuple[int, int]]] = {}
    for b, station_id, k in refs:
        by_broadcast.setdefault(b, set()).add((station_id, k))
    for broadcast_id, wanted in by_broadcast.items():
        found = session.execute(select(Broadcast, Bulletin.duration_ms)
                                .join(Bulletin, Bulletin.id == Broadcast.bulletin_id)
                                .where(Broadcast.id == broadcast_id)).first()
        if found is None or found[0].starts_at is None:
            continue  # unknown, or from before broadcasts were fanned out: all rows written
        broadcast, duration_ms = found
        targets = targets_of(broadcast)
        stations = {s for s, k in wanted if k < broadcast.repeat}
        if targets is None:
            stations = set(session.scalars(select(Station.id).where(
                in_list(session, Station.id, sorted(stations)))))
        else:
            stations &= targets
        if stations:
            log.info("broadcast %d: rows of %d station(s) made from their events",
                     broadcast_id, len(stations))
            write_rows(session=session, broadcast=broadcast, duration_ms=duration_ms,
                       station_ids=sorted(stations))
