"""Timetable API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from scheduler.ids import Id
from wardcast.protocol import Priority


class TimetableCreate(BaseModel):
    bulletin_id: Id
    station_ids: list[Id] = Field(default_factory=list, max_length=20000)
    group_ids: list[Id] = Field(default_factory=list, max_length=1000,
                                 description="groups (with their sub-groups) to target too")
    starts_at: datetime = Field(description="ISO 8601; without an offset it is a wall time in "
                                            "each station's own time zone")
    recurrence: str | None = Field(default=None, max_length=1000,
                                   description="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,TU,"
                                               "WE,TH,FR;BYHOUR=6,17;BYMINUTE=0")
    until: datetime | None = None
    priority: Priority = Priority.NORMAL
    displace: bool = Field(default=False, description="let this timetable displace overlapping "
                                                      "items of lower priority")


class TimetableUpdate(BaseModel):
    """A change to a timetable; only the fields given change."""

    bulletin_id: Id | None = None
    station_ids: list[Id] | None = Field(default=None, min_length=1, max_length=20000)
    starts_at: datetime | None = None
    recurrence: str | None = Field(default=None, max_length=1000)
    until: datetime | None = None
    priority: Priority | None = None
    displace: bool = False


class TimetableRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    bulletin_id: Id
    station_ids: list[int]
    starts_at: datetime
    floating: bool
    recurrence: str | None
    until: datetime | None
    priority: Priority
    created_at: datetime
    deleted_at: datetime | None
    planned: int = 0


class TimetableList(BaseModel):
    items: list[TimetableRead]
    total: int
