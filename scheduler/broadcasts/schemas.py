"""Broadcast API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, model_validator

from scheduler.db import Id
from wardcast.protocol import Priority


class BroadcastCreate(BaseModel):
    bulletin_id: Id | None = Field(default=None, description="the bulletin to play, or …")
    stream_id: Id | None = Field(default=None, description="… the stream to relay (tiếp âm) "
                                                           "for duration_s seconds")
    duration_s: int | None = Field(default=None, ge=1, le=24 * 3600,
                                   description="how long a relay lasts (1 s … 24 h)")
    station_ids: list[Id] = Field(default_factory=list, max_length=20000)
    group_ids: list[Id] = Field(default_factory=list, max_length=1000)
    everyone: bool = Field(default=False, description=(
        "every station (users not limited to wards): one message the broker fans out"))
    priority: Priority = Priority.EMERGENCY
    repeat: int = Field(default=1, ge=1, le=20, description="how many times to play it")
    gap_s: float = Field(default=0, ge=0, le=3600, description="silence between repeats")
    valid_minutes: float = Field(default=30, gt=0, le=24 * 60, description=(
        "a station that comes online within this time still plays it"))

    @model_validator(mode="after")
    def _one_thing(self) -> BroadcastCreate:
        if (self.bulletin_id is None) == (self.stream_id is None):
            raise ValueError("Cần đúng một trong bulletin_id hoặc stream_id — give exactly one "
                             "of bulletin_id and stream_id")
        if (self.stream_id is None) != (self.duration_s is None):
            raise ValueError("Tiếp âm cần thời lượng duration_s (giây), và duration_s chỉ dùng "
                             "khi tiếp âm — a relay needs duration_s (seconds), and duration_s "
                             "goes only with stream_id")
        return self


class BroadcastRead(BaseModel):
    id: int
    bulletin_id: Id | None
    stream_id: int | None = None
    duration_s: int | None = None
    priority: str
    repeat: int
    gap_s: float
    valid_until: datetime
    created_at: datetime
    everyone: bool = False
    station_ids: list[int]
    playback_ids: list[int]
