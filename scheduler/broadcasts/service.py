"""Create a broadcast: its playbacks start now, on every target, ignoring quiet hours.

A broadcast to groups (or to every station) goes out as one message per group topic, which
the broker fans out to the members, and only then are its playbacks written: an emergency for
10,000 stations is one publish, not 10,000 plans (fanout.py). Stations named one by one get
their playbacks first and then their plans, as any other change.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.broadcasts import fanout
from scheduler.broadcasts.models import Broadcast
from scheduler.broadcasts.schemas import BroadcastCreate
from scheduler.bulletins import service as bulletins
from scheduler.bulletins.models import Bulletin
from scheduler.errors import Forbidden, InvalidInput
from scheduler.groups import service as groups
from scheduler.playbacks.models import Playback
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.streams import service as streams
from scheduler.unitofwork import plans_changed
from scheduler.users.models import User
from wardcast.protocol import FLEET_TOPIC, group_topic, utcnow

# Leave the agents a moment to receive the message and fetch the media: N plans, one per
# station, take longer to write than one message per group takes the broker to fan out.
LEAD = timedelta(milliseconds=300)
FANOUT_LEAD = timedelta(milliseconds=100)

Publish = Callable[[str, bytes], None]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Created:
    """A stored broadcast, its playbacks (ids) and the stations they are for."""

    broadcast: Broadcast
    bulletin: Bulletin | None  # None for a relay
    playback_ids: list[int]  # all of them once `send` has run
    station_ids: list[int]  # sorted, each once
    topics: list[str]  # the group (or fleet) topics it goes out on; none: plans only
    fanned: list[int]  # the stations those topics are for


def create(*, session: Session, data: BroadcastCreate, by: User, live: bool = False
           ) -> Created:
    """Store a broadcast, and the playbacks of the stations named one by one (their plans go
    out once the session commits); `send` then publishes the rest and writes their rows.

    The playbacks are written with one executemany and their ids read back by broadcast: a
    broadcast to 10,000 stations is stored in a fraction of a second, not seconds. live: the
    stream may be a live session's (scheduler/live), which only its session sends.
    """
    bulletin, duration_ms = _content(session, data, live=live)
    if data.everyone and by.wards is not None:
        raise Forbidden("Chỉ người dùng không giới hạn phường mới phát cho mọi trạm — "
                        "everyone is for users not limited to wards", field="everyone")
    fanned = (list(session.scalars(select(Station.id))) if data.everyone
              else groups.station_ids(session=session, group_ids=data.group_ids)
              if data.group_ids else [])
    ids = list(data.station_ids) + fanned
    if not ids:
        raise InvalidInput("Cần chọn ít nhất một trạm hoặc nhóm trạm — give station_ids, "
                           "group_ids or everyone, with at least one station",
                           field="station_ids")
    targets = stations.checked_ids(session=session, station_ids=ids, field="station_ids",
                                   user=by)
    topics = ([FLEET_TOPIC] if data.everyone
              else [group_topic(g) for g in sorted(set(data.group_ids))] if fanned else [])
    if bulletin is None:  # a relay goes by plans: the group message carries bulletin media
        topics, fanned = [], []
    now = utcnow()
    starts_at = now + (FANOUT_LEAD if topics else LEAD)
    # to the millisecond, as the message carries it: the members' slots and the rows agree
    starts_at = starts_at.replace(microsecond=starts_at.microsecond // 1000 * 1000)
    broadcast = Broadcast(bulletin_id=data.bulletin_id, stream_id=data.stream_id,
                          duration_s=data.duration_s, priority=data.priority.value,
                          repeat=data.repeat, gap_s=data.gap_s, starts_at=starts_at,
                          valid_until=starts_at + timedelta(minutes=data.valid_minutes),
                          created_at=now, created_by_id=by.id, everyone=data.everyone,
                          targets=json.dumps(sorted(targets)))
    session.add(broadcast)
    session.flush()
    reached = set(fanned)
    direct = [station_id for station_id in targets if station_id not in reached]
    fanout.write_rows(session=session, broadcast=broadcast, duration_ms=duration_ms,
                      station_ids=direct)
    plans_changed(session, direct)
    return Created(broadcast, bulletin, _playback_ids(session, broadcast.id), sorted(targets),
                   topics, sorted(reached))


def send(*, session: Session, created: Created, publish: Publish | None) -> Created:
    """Publish a broadcast's group messages from its committed record, then write the rows of
    the stations they reach; return it with every playback id.

    Commits the session first: an agent's events for the broadcast may come back before its
    rows are written, and they are then made from the record (fanout.name_playbacks). The
    stations that may not read the topic yet (offline, just connected, just moved into a
    group) get their plans too; without a broker link (publish None) every one does.
    """
    if not created.topics or created.bulletin is None:
        return created
    broadcast = created.broadcast
    session.commit()  # the record before the message: see above
    if publish is not None:
        message = fanout.start_message(broadcast, created.bulletin, members=len(created.fanned))
        for topic in created.topics:
            publish(topic, message)
        log.info("broadcast %d to %d station(s) published %.0f ms after it was asked for",
                 broadcast.id, len(created.fanned),
                 (utcnow() - broadcast.created_at).total_seconds() * 1000)
    fanout.write_rows(session=session, broadcast=broadcast,
                      duration_ms=created.bulletin.duration_ms, station_ids=created.fanned)
    late = (created.fanned if publish is None else
            fanout.late_listeners(session=session, station_ids=created.fanned,
                                  since=broadcast.created_at))
    plans_changed(session, late)
    return Created(broadcast, created.bulletin, _playback_ids(session, broadcast.id),
                   created.station_ids, created.topics, created.fanned)


def _content(session: Session, data: BroadcastCreate, *, live: bool
             ) -> tuple[Bulletin | None, int]:
    """The approved bulletin to play and its length, or (None, the relay's span) for a
    stream that exists."""
    if data.stream_id is not None:
        assert data.duration_s is not None  # the schema asks for both
        streams.get(session=session, stream_id=data.stream_id, live=live)
        return None, data.duration_s * 1000
    assert data.bulletin_id is not None  # the schema asks for one of the two
    bulletin = bulletins.get_approved(session=session, bulletin_id=data.bulletin_id)
    return bulletin, bulletin.duration_ms


def _playback_ids(session: Session, broadcast_id: int) -> list[int]:
    return list(session.scalars(select(Playback.id).where(Playback.broadcast_id == broadcast_id)
                                .order_by(Playback.id)))
