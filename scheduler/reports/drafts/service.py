"""Report drafts: make one (the city's or a ward's report of a period, stored as computed),
find, list and read them within a user's wards, and compute one again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from scheduler.audit import service as audit
from scheduler.catalogue.matching import slug
from scheduler.errors import Conflict, NotFound
from scheduler.reports import service as reports
from scheduler.reports.cutoffs import Cutoffs
from scheduler.reports.drafts.models import ReportDraft
from scheduler.reports.periods import Period
from scheduler.reports.schemas import ActivityReport
from scheduler.stations.service import OutsideWards
from scheduler.users.models import User
from wardcast.protocol import utcnow

SCHEDULER = audit.Actor(user_id=None, username="(scheduler)")
# computations and mailings the job tries before leaving a draft to people (regenerate)
MAX_ATTEMPTS = 5


class DraftNotFound(NotFound):
    code = "draft_not_found"


class DraftNotReady(Conflict):
    code = "draft_not_ready"


@dataclass(frozen=True)
class Scope:
    """What a draft covers: a period, and one ward or (None) the city."""

    period: Period
    ward: str | None

    @property
    def name(self) -> str:
        if self.period.name is None:
            raise ValueError("a draft is of a named period (2026-H1, 2026)")
        return self.period.name

    @property
    def kind(self) -> str:
        """"six_months" (2026-H1, 2026-H2) or "year" (2026)."""
        return "six_months" if "-H" in self.name else "year"


def find(*, session: Session, period: str, ward: str | None) -> ReportDraft | None:
    """Return the draft of a period and ward (None: the city's), if made."""
    ward_is = ReportDraft.ward.is_(None) if ward is None else ReportDraft.ward == ward
    return session.scalar(select(ReportDraft).where(ReportDraft.period == period, ward_is))


def compute(*, session: Session, scope: Scope, now: datetime, cutoffs: Cutoffs,
            draft: ReportDraft | None, actor: audit.Actor) -> ReportDraft:
    """Compute the report of a scope and store it in its draft (made if None), audited."""
    report = reports.activity(session=session, period=scope.period, now=now, cutoffs=cutoffs,
                              wards=None if scope.ward is None else [scope.ward])
    made = draft is None
    draft = draft or _new(session, scope, actor)
    before = _summary(draft)
    draft.figures = report.model_dump(mode="json", by_alias=True)
    draft.generated_at, draft.generated_by = report.generated_at, actor.username
    draft.revision += 1
    draft.error, draft.attempts = None, 0
    session.flush()
    audit.record(session=session, actor=actor, action="report_draft.create" if made
                 else "report_draft.regenerate", target_type="report_draft",
                 target_id=draft.id, period=draft.period, ward=draft.ward,
                 revision=draft.revision, totals=_totals(report), replaced=before)
    return draft


def failed(*, session: Session, scope: Scope, draft: ReportDraft | None, error: str,
           actor: audit.Actor) -> ReportDraft:
    """Record that computing a draft failed (it keeps the figures it had, if any)."""
    draft = draft or _new(session, scope, actor)
    draft.error, draft.attempts = error[:2000], draft.attempts + 1
    session.flush()
    audit.record(session=session, actor=actor, action="report_draft.fail",
                 target_type="report_draft", target_id=draft.id, period=draft.period,
                 ward=draft.ward, error=draft.error, attempts=draft.attempts)
    return draft


def mailed(*, session: Session, draft_id: int, recipients: list[str], error: str | None,
           sent: bool) -> None:
    """Record a mailing of the draft: sent (to all, or some with `error` naming the others),
    or not (`error` says why; the job tries again while attempts are left)."""
    draft = session.get(ReportDraft, draft_id)
    if draft is None:
        return
    draft.mail_attempts += 1
    draft.mail_error = None if error is None else error[:2000]
    if sent:
        draft.mailed_at = utcnow()
    audit.record(session=session, actor=SCHEDULER, action="report_draft.mail",
                 target_type="report_draft", target_id=draft.id, period=draft.period,
                 ward=draft.ward, recipients=recipients, sent=sent, error=draft.mail_error)


def listing(*, session: Session, wards: frozenset[str] | None, period: str | None = None,
            limit: int = 100, offset: int = 0) -> tuple[list[ReportDraft], int]:
    """Return a page of the drafts a user of these wards may see (None: all, the city's
    included; a ward-limited user never sees the city's), newest period first, the city's
    first, then by ward; and the total."""
    query = select(ReportDraft)
    if wards is not None:
        query = query.where(ReportDraft.ward.in_(sorted(wards)))
    if period is not None:
        query = query.where(ReportDraft.period == period)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(ReportDraft.last_day.desc(),
                                          ReportDraft.ward.is_not(None), ReportDraft.ward,
                                          ReportDraft.id).limit(limit).offset(offset))
    return list(rows), total


def latest(*, session: Session, wards: frozenset[str] | None) -> list[ReportDraft]:
    """Return the drafts of the latest period a user of these wards has any of."""
    newest = listing(session=session, wards=wards, limit=1)[0]
    if not newest:
        return []
    return listing(session=session, wards=wards, period=newest[0].period, limit=10_000)[0]


def get(*, session: Session, draft_id: int, user: User | None, figures: bool = False
        ) -> ReportDraft:
    """Return a draft the user may see, or raise DraftNotFound / OutsideWards."""
    options = [undefer(ReportDraft.figures)] if figures else []
    draft = session.get(ReportDraft, draft_id, options=options)
    if draft is None:
        raise DraftNotFound(f"Không tìm thấy dự thảo báo cáo {draft_id} — report draft not "
                            "found", field="draft_id")
    limit = user.wards if user is not None else None
    if limit is not None and draft.ward is None:
        raise OutsideWards("Dự thảo báo cáo của toàn thành phố chỉ dành cho người dùng không "
                           "giới hạn phường — the city's draft is for users of every ward",
                           field="draft_id")
    if limit is not None and draft.ward not in limit:
        raise OutsideWards("Dự thảo này thuộc phường ngoài phạm vi của bạn — this draft is "
                           "outside your wards", field="draft_id")
    return draft


def report(draft: ReportDraft) -> ActivityReport:
    """The report as it was computed, or raise DraftNotReady."""
    if draft.figures is None:
        why = f" (lần lập gần nhất bị lỗi: {draft.error})" if draft.error else ""
        raise DraftNotReady(f"Dự thảo chưa có số liệu{why} — the draft has no figures yet; "
                            "regenerate it", field="draft_id")
    return ActivityReport.model_validate(draft.figures)


def regenerate(*, session: Session, draft_id: int, user: User, actor: audit.Actor,
               now: datetime, cutoffs: Cutoffs, timezone: str) -> ReportDraft:
    """Compute a draft again from the ledger as it is now; the new figures replace the old
    (the audit log keeps the old totals)."""
    draft = get(session=session, draft_id=draft_id, user=user, figures=True)
    period = Period(draft.first_day, draft.last_day, timezone, name=draft.period)
    return compute(session=session, scope=Scope(period, draft.ward), now=now, cutoffs=cutoffs,
                   draft=draft, actor=actor)


def file_name(draft: ReportDraft, extension: str) -> str:
    """Name a draft's file: du-thao-bao-cao_2026-H1_phuong-tan-loi.pdf."""
    whose = slug(draft.ward) if draft.ward is not None else "thanh-pho"
    return f"du-thao-bao-cao_{draft.period}_{whose or draft.id}.{extension}"


def title(period_title: str) -> str:
    """"Dự thảo báo cáo 6 tháng đầu năm 2026", "Dự thảo báo cáo năm 2026"."""
    return f"Dự thảo báo cáo {period_title[:1].lower()}{period_title[1:]}"


def _new(session: Session, scope: Scope, actor: audit.Actor) -> ReportDraft:
    draft = ReportDraft(kind=scope.kind, period=scope.name, ward=scope.ward,
                        first_day=scope.period.first, last_day=scope.period.last,
                        created_at=utcnow(), generated_by=actor.username, revision=0,
                        attempts=0, mail_attempts=0)
    session.add(draft)
    return draft


def _summary(draft: ReportDraft) -> dict[str, object] | None:
    """The totals a draft held before it is computed again (for the audit log)."""
    if draft.figures is None:
        return None
    return {"generated_at": draft.generated_at, "revision": draft.revision,
            "totals": _totals(ActivityReport.model_validate(draft.figures))}


def _totals(report: ActivityReport) -> dict[str, object]:
    f = report.totals
    return {"planned": f.planned, "played": f.played, "missed": f.missed, "failed": f.failed,
            "on_air_seconds": f.on_air_seconds}
