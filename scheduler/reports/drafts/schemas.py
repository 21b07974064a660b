"""What the drafts API answers: a draft without its figures (those are its files)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from scheduler.reports.drafts.models import ReportDraft


class DraftRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    kind: Literal["six_months", "year"] = Field(description="the six-month or the yearly "
                                                            "report")
    period: str = Field(description="2026-H1 or 2026")
    ward: str | None = Field(description="the ward, or null for the city's draft")
    from_: date = Field(alias="from")
    to: date
    generated_at: datetime | None = Field(description="when its figures were computed; null "
                                                      "while no computation has succeeded")
    generated_by: str = Field(description="(scheduler), or who regenerated it")
    revision: int = Field(description="how many times its figures were computed")
    error: str | None = Field(description="why the last computation failed")
    mailed_at: datetime | None
    mail_error: str | None

    @classmethod
    def of(cls, draft: ReportDraft) -> DraftRead:
        return cls(id=draft.id, kind=draft.kind, period=draft.period, ward=draft.ward,
                   from_=draft.first_day, to=draft.last_day, generated_at=draft.generated_at,
                   generated_by=draft.generated_by, revision=draft.revision, error=draft.error,
                   mailed_at=draft.mailed_at, mail_error=draft.mail_error)


class DraftList(BaseModel):
    items: list[DraftRead]
    total: int
