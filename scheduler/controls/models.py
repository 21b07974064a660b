"""One command to one station, and what the agent answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db import Base, UtcDateTime


class StationCommand(Base):
    __tablename__ = "station_commands"

    id: Mapped[int] = mapped_column(primary_key=True)
    command_id: Mapped[str] = mapped_column(String(64), unique=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"),
                                            index=True)
    type: Mapped[str] = mapped_column(String(16))
    args: Mapped[str] = mapped_column(Text, default="{}")
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the agent's clock
    ok: Mapped[bool | None]
    detail: Mapped[str | None] = mapped_column(String(500))
