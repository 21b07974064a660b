"""Playbacks (the ledger) and the agent events applied to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db import Base, UtcDateTime


class PlaybackStatus(StrEnum):
    PLANNED = "planned"
    DELIVERED = "delivered"
    READY = "ready"
    PLAYING = "playing"
    PLAYED = "played"
    FAILED = "failed"
    MISSED = "missed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"


FINAL = frozenset({PlaybackStatus.PLAYED, PlaybackStatus.FAILED, PlaybackStatus.MISSED,
                   PlaybackStatus.SKIPPED, PlaybackStatus.INTERRUPTED, PlaybackStatus.CANCELLED})
OPEN = tuple(s.value for s in PlaybackStatus if s not in FINAL)
NOT_STARTED = (PlaybackStatus.PLANNED.value, PlaybackStatus.DELIVERED.value,
               PlaybackStatus.READY.value)
# the station lacks the plan (`planned`: no `accepted` yet) or the media (not yet `ready`)
UNPREPARED = (PlaybackStatus.PLANNED.value, PlaybackStatus.DELIVERED.value)


class Playback(Base):
    __tablename__ = "playbacks"
    __table_args__ = (
        # one live row per slot; a cancelled slot may be planned again after an edit
        Index("uq_playbacks_slot", "timetable_id", "station_id", "scheduled_at", unique=True,
              sqlite_where=text("status != 'cancelled'"),
              postgresql_where=text("status != 'cancelled'")),
        # with the bulletin and the state: the activity report counts distinct bulletins
        # station by station from this index alone (PostgreSQL)
        Index("ix_playbacks_station_scheduled", "station_id", "scheduled_at",
              postgresql_include=["bulletin_id", "status"]),
        Index("ix_playbacks_status_scheduled", "status", "scheduled_at"),
        Index("ix_playbacks_scheduled_station", "scheduled_at", "station_id"),  # a period
        # a bulletin's playbacks; and whether a station aired it in a range (the report's
        # distinct bulletins, at the edges of its kept months)
        Index("ix_playbacks_bulletin_station", "bulletin_id", "station_id", "scheduled_at",
              postgresql_include=["status"]),
        # a broadcast's playback at a station, named by its repeat (0, 1 …): what an agent's
        # event names before the row may exist (broadcasts/fanout.py)
        Index("uq_playbacks_broadcast_repeat", "broadcast_id", "station_id", "repeat_index",
              unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    timetable_id: Mapped[int | None] = mapped_column(
        ForeignKey("timetables.id", ondelete="SET NULL"))
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL"), index=True)
    repeat_index: Mapped[int | None]  # a broadcast's playbacks at one station: 0, 1 …
    # a broadcast may still start late, until this instant (an agent that comes online)
    play_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    # A programme's items share (timetable, station, programme_run_at): one run, one unit.
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"), index=True)
    programme_position: Mapped[int | None]
    programme_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # exactly one of the two: a bulletin, or a stream relayed for `duration_ms`
    bulletin_id: Mapped[int | None] = mapped_column(ForeignKey("bulletins.id"))
    stream_id: Mapped[int | None] = mapped_column(ForeignKey("streams.id"), index=True)
    duration_ms: Mapped[int | None]  # a relay's span (a bulletin's is the bulletin's own)
    scheduled_at: Mapped[datetime] = mapped_column(UtcDateTime())
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    position_ms: Mapped[int | None]
    clock_offset_ms: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PlaybackEvent(Base):
    """Every event an agent reported, kept even when it no longer changes the ledger."""

    __tablename__ = "playback_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    playback_id: Mapped[int] = mapped_column(index=True)
    station_id: Mapped[int] = mapped_column(index=True)
    type: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    clock_offset_ms: Mapped[int | None]
    clock_uncertainty_ms: Mapped[int | None]
    position_ms: Mapped[int | None]
    boot_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    applied: Mapped[bool] = mapped_column(default=True)
