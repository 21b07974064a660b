"""The Báo cáo page: pick a period and wards, read the activity report with its charts, and
download it as XLSX, PDF, CSV or JSON from the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from scheduler.catalogue import service as catalogue
from scheduler.config import Settings
from scheduler.deps import RuntimeDep, SessionDep
from scheduler.errors import DomainError
from scheduler.reports import figures, periods, scope, service
from scheduler.reports.periods import Period
from scheduler.reports.render import words
from scheduler.reports.schemas import ActivityReport
from scheduler.users.models import User
from scheduler.web import charts
from scheduler.web import format as fmt
from scheduler.web.reportview import COLUMNS, Reader
from scheduler.web.session import ReportsPage
from scheduler.web.templating import language, render
from wardcast.protocol import utcnow

router = APIRouter()
MAX_STATIONS = 500  # past this the page lists those most in need of attention; files all
DOWNLOADS = ("xlsx", "pdf", "csv", "json")


@dataclass(frozen=True)
class ReportQuery:
    """What the form asked for, as typed (empty: not given)."""

    period: str = ""  # a quick choice: 2026-H1, 2026-H2, 2026
    start: str = ""  # YYYY-MM-DD, from a date input
    end: str = ""
    wards: tuple[str, ...] = ()

    def chosen(self, *, today: date, settings: Settings) -> Period:
        """The period asked for: a quick choice, else the dates, else this half-year."""
        zone, cutoffs = settings.timezone, settings.report_cutoffs
        if self.period.strip():  # the quick choice's button wins over the dates beside it
            return scope.period(name=self.period, first=None, last=None, timezone=zone,
                                cutoffs=cutoffs)
        if not self.start and not self.end:
            return periods.current_half(today, timezone=zone, cutoffs=cutoffs)
        return scope.period(name=None, first=fmt.day_input(self.start, field="from"),
                            last=fmt.day_input(self.end, field="to"), timezone=zone,
                            cutoffs=cutoffs)

    def download_url(self, period: Period, format: str) -> str:
        """The API address of the same report as a file (the API takes the login cookie)."""
        span = ({"period": period.name} if period.name
                else {"from": period.first.isoformat(), "to": period.last.isoformat()})
        return "/api/v1/reports/activity?" + urlencode(
            [*span.items(), *(("ward", ward) for ward in self.wards), ("format", format)])


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, session: SessionDep, runtime: RuntimeDep, user: ReportsPage,
                 period: Annotated[str, Query(max_length=16)] = "",
                 start: Annotated[str, Query(alias="from", max_length=40)] = "",
                 end: Annotated[str, Query(alias="to", max_length=40)] = "",
                 ward: Annotated[list[str] | None, Query(max_length=scope.MAX_WARDS)] = None
                 ) -> HTMLResponse:
    """The activity report of a period, for the wards the user may see (every role)."""
    settings = runtime.settings
    query = ReportQuery(period, start, end, tuple(w for w in ward or () if w.strip()))
    today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    context: dict[str, Any] = {
        "query": query, "error": None, "report": None,
        "choices": periods.choices(today, timezone=settings.timezone,
                                   cutoffs=settings.report_cutoffs),
        "wards": scope.visible_wards(session=session, user=user)}
    try:
        chosen = query.chosen(today=today, settings=settings)
        wards = scope.wards(session=session, asked=query.wards or None, user=user)
    except DomainError as exc:
        context["error"] = fmt.in_language(str(exc), lang=language(request))
        return render(request, "reports/page.html", status_code=exc.status_code, **context)
    report = service.activity(session=session, period=chosen, wards=wards, now=utcnow(),
                              cutoffs=settings.report_cutoffs)
    context |= _shown(request, session, user, report)
    context |= {"chosen": chosen, "downloads": [
        (name, query.download_url(chosen, name)) for name in DOWNLOADS]}
    return render(request, "reports/page.html", **context)


def _shown(request: Request, session: Session, user: User,
           report: ActivityReport) -> dict[str, Any]:
    """What the page shows of a report, in the reader's language."""
    lang = language(request)
    reader = Reader(lang=lang, zone=report.timezone,
                    names=catalogue.names(session=session, lang=lang))
    stations, shortened = figures.most_in_need(report.stations, MAX_STATIONS)
    before = report.previous
    return {"report": report, "reader": reader, "columns": COLUMNS,
            "charts": charts.every(report, reader), "stations": stations,
            "shortened": shortened, "limited": user.wards is not None,
            "previous_totals": before.totals if before else None,
            "previous_wards": words.previous_wards(report)}
