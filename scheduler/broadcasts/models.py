"""A broadcast: one bulletin (or a relay) played now (possibly repeated) on many stations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db import Base, UtcDateTime


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # one of the two: a bulletin, or a stream relayed for duration_s (by plans only: the
    # group message carries bulletin media)
    bulletin_id: Mapped[int | None] = mapped_column(ForeignKey("bulletins.id"), index=True)
    stream_id: Mapped[int | None] = mapped_column(ForeignKey("streams.id"), index=True)
    duration_s: Mapped[int | None]
    priority: Mapped[str] = mapped_column(String(16))
    repeat: Mapped[int] = mapped_column(default=1)
    gap_s: Mapped[float] = mapped_column(default=0.0)
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The stations it is for, as they were when it was made (a JSON list of ids); or every
    # station (`everyone`). An agent's event for a playback not written yet is checked
    # against them, and the row made (broadcasts/fanout.py).
    targets: Mapped[str | None] = mapped_column(Text())
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # its first repeat
    everyone: Mapped[bool] = mapped_column(default=False, server_default=false())
