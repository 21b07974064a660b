"""A programme (intro jingle, items, outro …) and its ordered items."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.db import Base, UtcDateTime


class ProgrammeItem(Base):
    __tablename__ = "programme_items"

    programme_id: Mapped[int] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)  # 0, 1, 2 … in playing order
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id"), index=True)
    gap_after_ms: Mapped[int] = mapped_column(default=0)


class Programme(Base):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # kept (not removed) so that the log can still name the programme of past playbacks
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)

    items: Mapped[list[ProgrammeItem]] = relationship(
        order_by=ProgrammeItem.position, cascade="all, delete-orphan", lazy="selectin")
