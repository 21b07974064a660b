"""A report draft: the city's (no ward) or one ward's report of a period, made ahead of its
deadline and kept as the figures were then."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from scheduler.db import Base, UtcDateTime


class ReportDraft(Base):
    __tablename__ = "report_drafts"
    __table_args__ = (
        # one draft a period and ward: replicas and restarts never make two; NULLs differ in
        # a unique constraint, so the city's (ward NULL) has an index of its own
        UniqueConstraint("period", "ward"),
        Index("uq_report_drafts_city", "period", unique=True,
              sqlite_where=text("ward IS NULL"), postgresql_where=text("ward IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "six_months" or "year"
    period: Mapped[str] = mapped_column(String(16))  # "2026-H1", "2026"
    ward: Mapped[str | None] = mapped_column(String(120))  # None: the city's
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # the instant the figures were computed at; None until one computation succeeded
    generated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    generated_by: Mapped[str] = mapped_column(String(64))  # "(scheduler)" or a user name
    revision: Mapped[int] = mapped_column(default=0)  # computations stored so far
    # the ActivityReport as JSON (by alias, as the API answers it); read only when asked for
    figures: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSON))
    error: Mapped[str | None] = mapped_column(Text)  # why the last computation failed
    attempts: Mapped[int] = mapped_column(default=0)  # failed computations since the last one
    mailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    mail_error: Mapped[str | None] = mapped_column(Text)
    mail_attempts: Mapped[int] = mapped_column(default=0)

    @property
    def ready(self) -> bool:
        """Whether the draft holds figures."""
        return self.generated_at is not None
