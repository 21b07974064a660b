"""Timetable API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scheduler.db import Id
from scheduler.instants import Instant
from wardcast.protocol import Priority

MAX_RELAY_S = 24 * 3600


class TimetableCreate(BaseModel):
    bulletin_id: Id | None = Field(default=None, description="the bulletin to play, or …")
    programme_id: Id | None = Field(default=None, description="… the programme to play, or …")
    stream_id: Id | None = Field(default=None, description="… the stream to relay (tiếp âm) "
                                                           "for duration_s seconds")
    duration_s: int | None = Field(default=None, ge=1, le=MAX_RELAY_S,
                                   description="how long a relay lasts (1 s … 24 h)")
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
        named = [self.bulletin_id, self.programme_id, self.stream_id]
        if sum(x is not None for x in named) != 1:
            raise ValueError("Cần đúng một trong bulletin_id, programme_id hoặc stream_id — give "
                             "exactly one of bulletin_id, programme_id and stream_id")
        _check_span(self.stream_id, self.duration_s)
        return self


def _check_span(stream_id: int | None, duration_s: int | None) -> None:
    if stream_id is not None and duration_s is None:
        raise ValueError("Tiếp âm cần thời lượng duration_s (giây) — a relay needs duration_s "
                         "(seconds)")
    if stream_id is None and duration_s is not None:
        raise ValueError("duration_s chỉ dùng khi tiếp âm (stream_id) — duration_s goes only "
                         "with stream_id")


class TimetableUpdate(BaseModel):
    """A change to a timetable; only the fields given change."""

    bulletin_id: Id | None = Field(default=None, description="play this bulletin instead")
    programme_id: Id | None = Field(default=None, description="play this programme instead")
    stream_id: Id | None = Field(default=None, description="relay this stream instead")
    duration_s: int | None = Field(default=None, ge=1, le=MAX_RELAY_S,
                                   description="a relay's new length in seconds")
    station_ids: list[Id] | None = Field(default=None, max_length=20000)
    group_ids: list[Id] | None = Field(default=None, max_length=1000)
    starts_at: Instant | None = None
    recurrence: str | None = Field(default=None, max_length=1000)
    until: Instant | None = None
    priority: Priority | None = None
    displace: bool = False

    @model_validator(mode="after")
    def _at_most_one_thing(self) -> TimetableUpdate:
        named = [self.bulletin_id, self.programme_id, self.stream_id]
        if sum(x is not None for x in named) > 1:
            raise ValueError("Chỉ chọn một trong bulletin_id, programme_id hoặc stream_id — give "
                             "at most one of bulletin_id, programme_id and stream_id")
        if self.stream_id is not None:
            _check_span(self.stream_id, self.duration_s)
        return self


class TimetableRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    bulletin_id: int | None
    programme_id: int | None = None
    stream_id: int | None = None
    duration_s: int | None = None
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
