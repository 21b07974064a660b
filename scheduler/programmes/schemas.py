"""Programme API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from scheduler.db import Id

MAX_GAP_MS = 3_600_000


class ProgrammeItemIn(BaseModel):
    bulletin_id: Id
    gap_after_ms: int = Field(default=0, ge=0, le=MAX_GAP_MS,
                              description="silence after this item, before the next one")


class ProgrammeCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    items: list[ProgrammeItemIn] = Field(min_length=1, max_length=200,
                                         description="in playing order: intro, items, outro")


class ProgrammeUpdate(BaseModel):
    """A change to a programme; only the fields given change."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    items: list[ProgrammeItemIn] | None = Field(default=None, min_length=1, max_length=200)


class ProgrammeItemRead(BaseModel):
    position: int
    bulletin_id: int
    title: str
    duration_ms: int
    gap_after_ms: int
    offset_ms: int = Field(description="when this item starts, from the start of the run")


class ProgrammeRead(BaseModel):
    id: int
    title: str
    items: list[ProgrammeItemRead]
    duration_ms: int = Field(description="from the first item's start to the last one's end")
    schedulable: bool = Field(description="every item's bulletin is approved")
    created_at: datetime
    updated_at: datetime


class ProgrammeList(BaseModel):
    items: list[ProgrammeRead]
    total: int
