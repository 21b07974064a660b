"""Station API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, computed_field

from scheduler.localtime import LocalTime
from wardcast import protocol


class StationCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    ward: str = Field(min_length=1, max_length=120)
    timezone: str | None = Field(default=None, max_length=64)


class StationUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    timezone: str | None = Field(default=None, max_length=64)
    quiet_start: LocalTime | None = Field(default=None, description="local time, e.g. 21:30")
    quiet_end: LocalTime | None = Field(default=None, description="local time, e.g. 05:30")


class StationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    ward: str
    timezone: str
    quiet_start: LocalTime | None = None
    quiet_end: LocalTime | None = None
    created_at: datetime
    online: bool
    last_seen_at: datetime | None
    clock_offset_ms: int | None = Field(
        description="as the agent last measured it: scheduler time ≈ agent time + offset")
    clock_uncertainty_ms: int | None = Field(
        default=None, description="the true offset is within this of clock_offset_ms "
                                  "(null from older agents)")
    now_playing: int | None = Field(
        default=None, validation_alias=AliasChoices("now_playing_id", "now_playing"))
    at_risk: int = Field(
        default=0, description="open playbacks whose plan or media the station still lacks "
                               "less than WARDCAST_AT_RISK_LEAD_S before their slot, or after "
                               "it (GET /playbacks?at_risk=true&station_id=...)")

    @computed_field(  # type: ignore[prop-decorator]  # pydantic's documented form
        description="the clock is surely over 1 s off: |offset| − uncertainty > 1 s")
    @property
    def clock_off(self) -> bool:
        return protocol.clock_off(self.clock_offset_ms, self.clock_uncertainty_ms)


class StationWithToken(StationRead):
    token: str


class StationList(BaseModel):
    items: list[StationRead]
    total: int
