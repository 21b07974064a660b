"""Station API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class StationCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    ward: str = Field(min_length=1, max_length=120)
    timezone: str | None = Field(default=None, max_length=64)


class StationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    ward: str
    timezone: str
    created_at: datetime
    online: bool
    last_seen_at: datetime | None
    clock_offset_ms: int | None
    now_playing: int | None = Field(
        default=None, validation_alias=AliasChoices("now_playing_id", "now_playing"))


class StationWithToken(StationRead):
    token: str


class StationList(BaseModel):
    items: list[StationRead]
    total: int
