"""Bulletin API shapes."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from scheduler.catalogue.models import CODE_LENGTH


class BulletinRef(BaseModel):
    """A bulletin named by its id and title."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str


class BulletinRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    language: str
    category: str | None
    topic: str  # a code of GET /topics
    source: str | None  # a code of GET /sources
    status: str
    duration_ms: int
    sha256: str
    size_bytes: int
    loudness_lufs: float
    true_peak_dbtp: float
    source_loudness_lufs: float
    source_format: str
    normalization_type: str
    original_filename: str
    created_at: datetime
    reviewed_at: datetime | None
    reject_reason: str | None
    valid_from: date | None = None
    valid_until: date | None = None
    archived_at: datetime | None = None  # archived: out of the lists, kept for the log
    # on an upload: the bulletin that already held the same audio, if any
    duplicate_of: BulletinRef | None = None


class BulletinRemoved(BaseModel):
    """What DELETE did: `deleted`, or `archived` when it had been approved or was named by a
    timetable, programme, broadcast or playback."""

    id: int
    title: str
    outcome: str


class BulletinList(BaseModel):
    items: list[BulletinRead]
    total: int


class RejectBody(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class BulletinUpdate(BaseModel):
    """Metadata that may change; the audio never does (a new version is a new bulletin)."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = Field(default=None, max_length=64)
    topic: str | None = Field(default=None, max_length=CODE_LENGTH,
                              description="a code of GET /topics; null: the topic the "
                                          "category names. A new category alone moves the "
                                          "topic along when it was the old category's")
    source: str | None = Field(default=None, max_length=CODE_LENGTH,
                               description="a code of GET /sources; null: none")
    valid_from: date | None = Field(default=None, description="first broadcast date")
    valid_until: date | None = Field(default=None, description="last broadcast date")
