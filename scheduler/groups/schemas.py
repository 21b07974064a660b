"""Group API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from scheduler.db import Id
from scheduler.localtime import LocalTime

Kind = Literal["city", "ward", "cluster", "custom"]


class GroupCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    kind: Kind = "custom"
    parent_id: Id | None = None
    station_ids: list[Id] = Field(default_factory=list, max_length=20000)
    quiet_start: LocalTime | None = Field(default=None, description="local time, e.g. 21:30")
    quiet_end: LocalTime | None = Field(default=None, description="local time, e.g. 05:30")


class GroupUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    parent_id: Id | None = None
    station_ids: list[Id] | None = Field(default=None, max_length=20000)
    quiet_start: LocalTime | None = None
    quiet_end: LocalTime | None = None


class GroupRead(BaseModel):
    id: int
    name: str
    kind: str
    parent_id: int | None
    station_ids: list[int]
    quiet_start: LocalTime | None
    quiet_end: LocalTime | None
    created_at: datetime


class GroupList(BaseModel):
    items: list[GroupRead]
    total: int
