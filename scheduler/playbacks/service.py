"""Query the playback log."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from scheduler.db import in_list
from scheduler.errors import NotFound
from scheduler.playbacks.models import UNPREPARED, Playback, PlaybackEvent, PlaybackStatus
from scheduler.playbacks.schemas import CSV_COLUMNS, PlaybackRead
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.users.models import User
from wardcast.csvcells import safe_row
from wardcast.protocol import to_wire, utcnow


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


def csv_rows(*, session: Session, filters: PlaybackFilter) -> Iterator[str]:
    """Yield the whole filtered log as CSV text, header first, in batches.

    Stations write reasons: a text cell that a spreadsheet would run is quoted (csvcells).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    query = filters.apply(select(Playback)).order_by(Playback.scheduled_at, Playback.id)
    for index, playback in enumerate(session.scalars(query.execution_options(yield_per=500))):
        row = PlaybackRead.model_validate(playback).model_dump()
        writer.writerow(safe_row(_cell(row[name]) for name in CSV_COLUMNS))
        if index % 500 == 499:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return to_wire(value)
    return "" if value is None else value


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
