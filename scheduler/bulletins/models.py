"""A bulletin: one processed, content-addressed audio item and its approval state."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.catalogue import seeds
from scheduler.catalogue.matching import match_topic
from scheduler.catalogue.models import CODE_LENGTH
from scheduler.db import Base, UtcDateTime


class BulletinStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


def _topic_of_category(context: DefaultExecutionContext) -> str:
    # for rows written past bulletins/service.py (which maps onto the topics table)
    row = context.get_current_parameters()  # type: ignore[no-untyped-call]  # untyped in SA
    return match_topic(row.get("category"), seeds.TOPICS)


class Bulletin(Base):
    __tablename__ = "bulletins"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(35), index=True)
    category: Mapped[str | None] = mapped_column(String(64), index=True)  # free text
    topic: Mapped[str] = mapped_column(
        String(CODE_LENGTH), ForeignKey("topics.code"), index=True, default=_topic_of_category,
        server_default=seeds.OTHER_TOPIC)
    source: Mapped[str | None] = mapped_column(String(CODE_LENGTH), ForeignKey("sources.code"),
                                               index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    duration_ms: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int]
    loudness_lufs: Mapped[float]
    true_peak_dbtp: Mapped[float]
    source_loudness_lufs: Mapped[float]
    source_duration_ms: Mapped[int]
    source_format: Mapped[str] = mapped_column(String(64))
    normalization_type: Mapped[str] = mapped_column(String(16))
    original_sha256: Mapped[str] = mapped_column(String(64))
    original_filename: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    # first and last broadcast date, in each station's own calendar
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    # archived: hidden from the lists but kept, for it has been on air or is named elsewhere
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    archived_by_id: Mapped[int | None]  # a user's id, as in the audit log (no cascade)
