"""Timetable API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scheduler.db import Id
from scheduler.instants import Instant
from wardcast.protocol import Priority


class TimetableCreate(BaseModel):
    bulletin_id: Id | None = Field(default=None, description="the bulletin to play, or …")
    programme_id: Id | None = Field(default=None, description="… the programme to play")
    station_ids: list[Id] = Field(default_factory=list, max_length=20000)
    group_ids: list[Id] = Field(default_factory=list, max_length=1000,
                                 description="groups (with their sub-groups) to target too")
    starts_at: Instant = Field(description="ISO 8601; without an offset it is a wall time in "
                                            "each station's own time zone")
    recurrence: str | None = Field(default=None, max_length=1000,
                                   description="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,TU,"
                                               "WE,TH,FR;BYHOUR=6,17;BYMINUTE=0")
    until: Instant | None = None
    priority: Priority = Priority.NORMAL
    displace: bool = Field(default=False, description="let this timetable displace overlapping "
                                                      "items of lower priority")

    @model_validator(mode="after")
    def _one_thing(self) -> TimetableCreate:
        if (self.bulletin_id is None) == (self.programme_id is None):
            raise ValueError("Cần đúng một trong bulletin_id hoặc programme_id — give exactly "
                             "one of bulletin_id and programme_id")
        return self


class TimetableUpdate(BaseModel):
    """A change to a timetable; only the fields given change."""

    bulletin_id: Id | None = Field(default=None, description="play this bulletin instead")
    programme_id: Id | None = Field(default=None, description="play this programme instead")
    station_ids: list[Id] | None = Field(default=None, max_length=20000)
    group_ids: list[Id] | None = Field(default=None, max_length=1000)
    starts_at: Instant | None = None
    recurrence: str | None = Field(default=None, max_length=1000)
    until: Instant | None = None
    priority: Priority | None = None
    displace: bool = False

    @model_validator(mode="after")
    def _at_most_one_thing(self) -> TimetableUpdate:
        if self.bulletin_id is not None and self.programme_id is not None:
            raise ValueError("Chỉ chọn một trong bulletin_id hoặc programme_id — give at most "
                             "one of bulletin_id and programme_id")
        return self


class TimetableRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    bulletin_id: int | None
    programme_id: int | None = None
    station_ids: list[int]
    other_stations: int = Field(default=0, description="stations outside your wards it also "
                                "plays on, which `station_ids` leaves out (0 for a user "
                                "limited to no ward)")
    group_ids: list[int] = Field(default_factory=list, description="groups it follows: a "
                                 "station joining or leaving one gains or loses its slots")
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
