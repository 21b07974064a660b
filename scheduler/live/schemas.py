"""Live session API shapes: the ingest key goes out once, in the answer that started it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from scheduler.db import Id
from wardcast.protocol import Priority


class LiveCreate(BaseModel):
    station_ids: list[Id] = Field(default_factory=list, max_length=20000)
    group_ids: list[Id] = Field(default_factory=list, max_length=1000)
    priority: Priority = Field(default=Priority.EMERGENCY, description=(
        "emergency (the default) interrupts what the stations are playing"))


class LiveRead(BaseModel):
    id: int
    state: str = Field(description="live | stopped")
    mount: str
    priority: str
    stream_id: int
    broadcast_id: int | None
    station_ids: list[int]
    started_at: datetime
    created_by_id: int | None
    stopped_at: datetime | None
    stop_reason: str | None = Field(description=(
        "stopped | source_lost | no_source | max_duration | scheduler_stopped | "
        "scheduler_restarted"))
    stopped_by_id: int | None
    source_connected: bool = Field(description="a source (browser, ffmpeg) is sending now")
    said_s: float | None = Field(description=(
        "seconds of audio its sources sent so far (None: not live on this server)"))
    recording_state: str = Field(description="recording | processing | kept | empty | failed")
    recording_bulletin_id: int | None = Field(description="the pending bulletin it became")
    recording_error: str | None


class LiveStarted(LiveRead):
    ingest_url: str = Field(description=(
        "where a non-browser source sends its audio, with the session's one key: "
        "ffmpeg -re -i voice.wav -c:a libopus -f ogg -method PUT <ingest_url>"))
    ws_path: str = Field(description=(
        "the WebSocket the page sends its MediaRecorder chunks to (the login cookie)"))
    stop_url: str = Field(description="POST here (with the key) to stop without a login")


class LiveList(BaseModel):
    items: list[LiveRead]
    total: int
