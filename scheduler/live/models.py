"""A live session: someone speaking now to many stations, through the streaming server.

The session owns a stream of kind `live` (its mount on the streaming server) and the
broadcast that plays that stream on its stations; what was said is recorded and, once the
session stops, kept as a pending bulletin.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db import Base, UtcDateTime

MOUNT_LENGTH = 80
ERROR_LENGTH = 500


class StopReason(StrEnum):
    STOPPED = "stopped"  # someone stopped it (the page's button, the API, the ingest key)
    SOURCE_LOST = "source_lost"  # its source went away and did not come back in time
    NO_SOURCE = "no_source"  # no source ever connected
    MAX_DURATION = "max_duration"  # it reached WARDCAST_LIVE_MAX_S
    SCHEDULER_STOPPED = "scheduler_stopped"  # the scheduler running it was shut down
    SCHEDULER_RESTARTED = "scheduler_restarted"  # found open after the scheduler died


class RecordingState(StrEnum):
    RECORDING = "recording"  # the session is live
    PROCESSING = "processing"  # stopped; the recording is being made a bulletin
    KEPT = "kept"  # recording_bulletin_id is the pending bulletin
    EMPTY = "empty"  # nothing was said
    FAILED = "failed"  # the recording could not be kept (recording_error says why)


class LiveSession(Base):
    __tablename__ = "live_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    mount: Mapped[str] = mapped_column(String(MOUNT_LENGTH), unique=True)
    # sha256 of the ingest key (shown once, in the answer that started the session)
    key_hash: Mapped[str] = mapped_column(String(64))
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), index=True)
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"), index=True)
    priority: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    # the replica whose process holds its transcoder (WARDCAST_REPLICA_ID; None: the only one)
    replica: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    stopped_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recording_state: Mapped[str] = mapped_column(String(16),
                                                 default=RecordingState.RECORDING.value)
    recording_bulletin_id: Mapped[int | None] = mapped_column(
        ForeignKey("bulletins.id", ondelete="SET NULL"))
    recording_error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH))

    @property
    def live(self) -> bool:
        return self.stopped_at is None
