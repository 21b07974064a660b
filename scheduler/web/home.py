"""The home page: what went wrong in the last 24 hours and what is at risk now stand out,
with links onwards."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from scheduler.bulletins import service as bulletins
from scheduler.bulletins.models import BulletinStatus
from scheduler.deps import RuntimeDep, SessionDep, actor
from scheduler.ids import IdPath
from scheduler.playbacks import service as playbacks
from scheduler.playbacks.models import Playback, PlaybackStatus
from scheduler.reports.drafts import service as report_drafts
from scheduler.users.models import User
from scheduler.web import drafts, station_page
from scheduler.web import format as fmt
from scheduler.web.i18n import N_
from scheduler.web.names import Names
from scheduler.web.session import DraftsPage, PageUser, can
from scheduler.web.templating import flash, language, redirect, render
from wardcast.protocol import utcnow

router = APIRouter()
TROUBLE = (PlaybackStatus.MISSED, PlaybackStatus.FAILED)
SHOWN = 20


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, runtime: RuntimeDep,
         user: PageUser) -> HTMLResponse:
    """Home: missed and failed playbacks of the last 24 h, those at risk now, the latest
    report drafts, then where to go next."""
    since = utcnow() - timedelta(hours=24)
    trouble: dict[str, tuple[list[Playback], int]] = {}
    for status in TROUBLE:
        filters = playbacks.PlaybackFilter(status=status, start=since, wards=user.wards)
        rows, total = playbacks.listing(session=session, filters=filters, limit=SHOWN, offset=0)
        trouble[status.value] = (rows, total)
    at_risk = playbacks.listing(session=session, limit=SHOWN, offset=0,
                                filters=playbacks.PlaybackFilter(
                                    at_risk_by=playbacks.at_risk_by(runtime.at_risk_lead),
                                    wards=user.wards))
    zone = runtime.settings.timezone
    return render(request, "home.html", waiting=_waiting(session, user), trouble=trouble,
                  at_risk=at_risk, names=Names(session),
                  lead_minutes=round(runtime.settings.at_risk_lead_s / 60),
                  since_input=fmt.local(since, zone).strftime("%Y-%m-%dT%H:%M"),
                  drafts=drafts.latest(session=session, wards=user.wards, zone=zone,
                                       lang=language(request)),
                  stations=station_page.attention(session=session, runtime=runtime, user=user))


def _waiting(session: Session, user: User) -> int | None:
    """How many bulletins wait for approval, for those who approve (None for the others)."""
    if not can(user, "approve"):
        return None
    _rows, total = bulletins.listing(session=session, limit=1, offset=0,
                                     status=BulletinStatus.PENDING.value, language=None)
    return total


@router.post("/drafts/{draft_id}/regenerate")
def regenerate_draft(draft_id: IdPath, request: Request, session: SessionDep,
                     runtime: RuntimeDep, user: DraftsPage) -> Response:
    """Compute a report draft again from the ledger as it is now, and go back home."""
    settings = runtime.settings
    report_drafts.regenerate(session=session, draft_id=draft_id, user=user,
                             actor=actor(request, user), now=utcnow(),
                             cutoffs=settings.report_cutoffs, timezone=settings.timezone)
    answer = redirect("/#report-drafts")
    flash(answer, N_("Draft made again with the figures of now."))
    return answer
