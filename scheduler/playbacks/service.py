"""Query the playback log."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, and_, func, select
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.db import in_list
from scheduler.errors import NotFound
from scheduler.playbacks import items
from scheduler.playbacks.models import OPEN, UNPREPARED, Playback, PlaybackEvent, PlaybackStatus
from scheduler.playbacks.schemas import CSV_COLUMNS
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.streams.models import Stream
from scheduler.users.models import User
from wardcast.protocol import utcnow

# How old a slot whose media a station may still fetch can be: a broadcast may start up to a
# day late (its valid_minutes); a timetable slot is skipped seconds after it passed.
MEDIA_LOOKBACK = timedelta(days=1)


def needs_media(*, session: Session, station_id: int, sha256: str, now: datetime) -> bool:
    """Tell whether a station's plan may hold this distribution file.

    That is: a playback of the station, not yet final and at most MEDIA_LOOKBACK old, whose
    bulletin's audio it is (a programme's item and a broadcast are playbacks too). A
    finished playback needs nothing more, and audio no plan gives the station (a pending
    bulletin, another ward's) is not its to fetch. A relay's is its stream's filler.
    """
    wanted = (Playback.station_id == station_id, Playback.status.in_(OPEN),
              Playback.scheduled_at >= now - MEDIA_LOOKBACK, Bulletin.sha256 == sha256)
    found = session.scalar(
        select(Playback.id).join(Bulletin, Bulletin.id == Playback.bulletin_id)
        .where(*wanted).limit(1))
    filler = found is None and session.scalar(
        select(Playback.id).join(Stream, Stream.id == Playback.stream_id)
        .join(Bulletin, Bulletin.id == Stream.filler_bulletin_id).where(*wanted).limit(1))
    return found is not None or bool(filler)


def at_risk_by(lead: timedelta) -> datetime:
    """Return the instant up to which an unprepared slot is at risk, from now."""
    return utcnow() + lead


def at_risk(by: datetime) -> ColumnElement[bool]:
    """Playbacks whose station still lacks the plan or the media, with the slot before `by`
    (a slot already past included: it is still open, and may yet be declared missed)."""
    return and_(Playback.status.in_(UNPREPARED), Playback.scheduled_at <= by)


@dataclass(frozen=True)
class PlaybackFilter:
    station_id: int | None = None
    bulletin_id: int | None = None
    status: PlaybackStatus | None = None
    start: datetime | None = None
    end: datetime | None = None
    wards: frozenset[str] | None = None  # a ward-limited user sees only these
    station_ids: tuple[int, ...] | None = None  # e.g. the stations of a group
    programme_id: int | None = None
    at_risk_by: datetime | None = None  # only those at risk (see at_risk) by this instant

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.wards is not None:
            query = query.where(Playback.station_id.in_(
                select(Station.id).where(Station.ward.in_(sorted(self.wards)))))
        if self.station_id is not None:
            query = query.where(Playback.station_id == self.station_id)
        if self.station_ids is not None:
            query = query.where(Playback.station_id.in_(self.station_ids))
        if self.bulletin_id is not None:
            query = query.where(Playback.bulletin_id == self.bulletin_id)
        if self.programme_id is not None:
            query = query.where(Playback.programme_id == self.programme_id)
        if self.status is not None:
            query = query.where(Playback.status == self.status.value)
        if self.start is not None:
            query = query.where(Playback.scheduled_at >= self.start)
        if self.end is not None:
            query = query.where(Playback.scheduled_at < self.end)
        if self.at_risk_by is not None:
            query = query.where(at_risk(self.at_risk_by))
        return query


def listing(*, session: Session, filters: PlaybackFilter, limit: int,
            offset: int) -> tuple[list[Playback], int]:
    """Return a page of the log, by slot then id, and the total."""
    query = filters.apply(select(Playback))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Playback.scheduled_at, Playback.id)
                           .limit(limit).offset(offset))
    return list(rows), total


def at_risk_counts(*, session: Session, station_ids: list[int], by: datetime) -> dict[int, int]:
    """Return how many playbacks are at risk by `by` on each of these stations (if any)."""
    if not station_ids:
        return {}
    rows = session.execute(
        select(Playback.station_id, func.count())
        .where(in_list(session, Playback.station_id, station_ids), at_risk(by))
        .group_by(Playback.station_id))
    return {station_id: int(count) for station_id, count in rows}


# what the log's files name beside the ids, joined in SQL (a batch at a time, never the whole
# log in memory); the labels are the files' keys (scheduler/web/logcolumns.py)
LOG_NAMES: tuple[ColumnElement[Any], ...] = (
    Station.name.label("station_name"), Station.ward.label("ward"),
    Station.timezone.label("station_timezone"), items.TITLE.label("bulletin_title"),
    Bulletin.language.label("language"), Bulletin.category.label("category"),
    Bulletin.topic.label("topic"), Bulletin.source.label("source"),
)
LOG_BATCH = 1000


def log_batches(*, session: Session, filters: PlaybackFilter,
                batch: int = LOG_BATCH) -> Iterator[Sequence[RowMapping]]:
    """Yield the whole filtered log by slot then id, in batches of rows that carry the
    playback's fields (CSV_COLUMNS) and the station's and bulletin's names (LOG_NAMES)."""
    fields = [getattr(Playback, name) for name in CSV_COLUMNS]
    query = (filters.apply(select(*fields, *LOG_NAMES)
                           .select_from(Playback)
                           # outer joins: a row of the log is never dropped for a lost name
                           .outerjoin(Station, Station.id == Playback.station_id)
                           .outerjoin(Bulletin, Bulletin.id == Playback.bulletin_id)
                           .outerjoin(Stream, Stream.id == Playback.stream_id))
             .order_by(Playback.scheduled_at, Playback.id))
    # yield_per streams (a server-side cursor on PostgreSQL) instead of fetching every row
    result = session.execute(query.execution_options(yield_per=batch))
    yield from result.mappings().partitions()


def get(*, session: Session, playback_id: int, user: User | None = None) -> Playback:
    """Return a playback the user may see, or raise NotFound / Forbidden."""
    playback = session.get(Playback, playback_id)
    if playback is None:
        raise NotFound(f"Không tìm thấy lượt phát {playback_id} — playback not found",
                       field="playback_id")
    if user is not None and user.wards is not None:
        stations.get(session=session, station_id=playback.station_id, user=user)
    return playback


def events(*, session: Session, playback_id: int, user: User | None = None
           ) -> list[PlaybackEvent]:
    """Return every event reported for a playback, in the order they were received."""
    get(session=session, playback_id=playback_id, user=user)
    return list(session.scalars(select(PlaybackEvent)
                                .where(PlaybackEvent.playback_id == playback_id)
                                .order_by(PlaybackEvent.id)))
