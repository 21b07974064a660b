"""The home page's report drafts: the latest period's, as far as the reader may see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from scheduler.reports.drafts import service as drafts
from scheduler.reports.drafts.models import ReportDraft
from scheduler.reports.periods import Period
from scheduler.web import format as fmt

# more ward drafts than this are folded away (a city has hundreds of wards)
OPEN_UP_TO = 10


@dataclass(frozen=True)
class DraftRow:
    id: int
    ward: str | None  # None: the city's
    generated: str | None  # "06:00:00 10/06/2026" in the city's zone; None: no figures yet
    error: str | None
    files: dict[str, str]  # "PDF" -> its address

    @classmethod
    def of(cls, draft: ReportDraft, *, zone: str, lang: str) -> DraftRow:
        generated = (None if draft.generated_at is None
                     else fmt.short(draft.generated_at, zone=zone, lang=lang))
        address = f"/api/v1/reports/drafts/{draft.id}?format="
        files = {} if generated is None else {"PDF": address + "pdf", "XLSX": address + "xlsx"}
        return cls(draft.id, draft.ward, generated, draft.error, files)


@dataclass(frozen=True)
class DraftPeriod:
    """The drafts of one period: the city's (for readers of every ward), then the wards'."""

    period: str  # "6 tháng đầu năm 2026", "năm 2026"; "First half of 2026"
    first: date
    last: date
    city: DraftRow | None
    wards: list[DraftRow]

    @property
    def folded(self) -> bool:
        return len(self.wards) > OPEN_UP_TO


def latest(*, session: Session, wards: frozenset[str] | None, zone: str,
           lang: str) -> DraftPeriod | None:
    """The drafts of the latest period a reader of these wards has any of."""
    rows = drafts.latest(session=session, wards=wards)
    if not rows:
        return None
    first = rows[0]
    title = Period(first.first_day, first.last_day, zone, name=first.period).title(lang)
    if lang == "vi":  # within a sentence: "Dự thảo báo cáo năm 2026"
        title = title[:1].lower() + title[1:]
    shown = [DraftRow.of(row, zone=zone, lang=lang) for row in rows]
    city = next((row for row in shown if row.ward is None), None)
    return DraftPeriod(title, first.first_day, first.last_day, city,
                       [row for row in shown if row.ward is not None])
