"""Playback log API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from scheduler.db import Id


class PlaybackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    station_id: int
    bulletin_id: Id | None  # None for a relay: stream_id names what it relays
    timetable_id: int | None
    broadcast_id: int | None = None
    scheduled_at: datetime
    priority: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    position_ms: int | None
    clock_offset_ms: int | None
    reason: str | None
    # a programme's items share programme_id and programme_run_at (with timetable and station)
    programme_id: int | None = None
    programme_position: int | None = None
    programme_run_at: datetime | None = None
    stream_id: int | None = None  # a relay's stream (tiếp âm), and how long it is to last
    duration_ms: int | None = None


class PlaybackList(BaseModel):
    items: list[PlaybackRead]
    total: int


CSV_COLUMNS = list(PlaybackRead.model_fields)


class PlaybackEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event_id: str
    type: str
    at: datetime
    received_at: datetime
    clock_offset_ms: int | None
    clock_uncertainty_ms: int | None = None
    position_ms: int | None
    boot_id: str | None
    reason: str | None
    applied: bool


class PlaybackEventList(BaseModel):
    items: list[PlaybackEventRead]
    total: int
