"""Broadcast API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from scheduler.db import Id
from wardcast.protocol import Priority


class BroadcastCreate(BaseModel):
    bulletin_id: Id
    station_ids: list[Id] = Field(default_factory=list, max_length=20000)
    group_ids: list[Id] = Field(default_factory=list, max_length=1000)
    everyone: bool = Field(default=False, description=(
        "every station (users not limited to wards): one message the broker fans out"))
    priority: Priority = Priority.EMERGENCY
    repeat: int = Field(default=1, ge=1, le=20, description="how many times to play it")
    gap_s: float = Field(default=0, ge=0, le=3600, description="silence between repeats")
    valid_minutes: float = Field(default=30, gt=0, le=24 * 60, description=(
        "a station that comes online within this time still plays it"))


class BroadcastRead(BaseModel):
    id: int
    bulletin_id: Id
    priority: str
    repeat: int
    gap_s: float
    valid_until: datetime
    created_at: datetime
    everyone: bool = False
    station_ids: list[int]
    playback_ids: list[int]
