"""Stream API shapes: the password goes in, never out (`has_credentials` says there is one)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from scheduler.db import Id
from scheduler.streams.models import CREDENTIAL_LENGTH, NAME_LENGTH, URL_LENGTH, Stream


class StreamCreate(BaseModel):
    name: str = Field(min_length=1, max_length=NAME_LENGTH, examples=["VOV1 Thời sự"])
    url: str = Field(min_length=1, max_length=URL_LENGTH,
                     description="http(s): an Icecast or Shoutcast mount, an HLS playlist")
    username: str | None = Field(default=None, max_length=CREDENTIAL_LENGTH)
    password: str | None = Field(default=None, max_length=CREDENTIAL_LENGTH)
    filler_bulletin_id: Id | None = Field(
        default=None, description="an approved bulletin played when the stream fails mid-relay")
    allow_unreachable: bool = Field(
        default=False, description="save it even when it cannot be reached now")


class StreamUpdate(BaseModel):
    """Fields left out stay; an empty username removes the credentials."""

    name: str | None = Field(default=None, min_length=1, max_length=NAME_LENGTH)
    url: str | None = Field(default=None, min_length=1, max_length=URL_LENGTH)
    username: str | None = Field(default=None, max_length=CREDENTIAL_LENGTH)
    password: str | None = Field(default=None, max_length=CREDENTIAL_LENGTH)
    filler_bulletin_id: Id | None = None
    allow_unreachable: bool = False


class StreamRead(BaseModel):
    id: int
    name: str
    url: str
    username: str | None
    has_credentials: bool
    codec: str | None
    bitrate_kbps: int | None
    sample_rate: int | None
    channels: int | None
    state: str = Field(description="unchecked | ok | silent | unreachable")
    checked_at: datetime | None
    state_since: datetime | None
    last_error: str | None
    filler_bulletin_id: int | None
    created_at: datetime
    created_by_id: int | None
    updated_at: datetime

    @classmethod
    def of(cls, stream: Stream) -> StreamRead:
        return cls(id=stream.id, name=stream.name, url=stream.url, username=stream.username,
                   has_credentials=stream.has_credentials, codec=stream.codec,
                   bitrate_kbps=stream.bitrate_kbps, sample_rate=stream.sample_rate,
                   channels=stream.channels, state=stream.state, checked_at=stream.checked_at,
                   state_since=stream.state_since, last_error=stream.last_error,
                   filler_bulletin_id=stream.filler_bulletin_id, created_at=stream.created_at,
                   created_by_id=stream.created_by_id, updated_at=stream.updated_at)


class StreamList(BaseModel):
    items: list[StreamRead]
    total: int
