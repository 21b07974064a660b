"""Report drafts: list them, download one as it was computed, compute one again."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from scheduler.deps import ApproverDep, RuntimeDep, SessionDep, UserDep, actor
from scheduler.ids import IdPath, Offset
from scheduler.reports import formats
from scheduler.reports.drafts import service
from scheduler.reports.drafts.schemas import DraftList, DraftRead
from scheduler.reports.schemas import ActivityReport
from wardcast.protocol import utcnow

router = APIRouter(prefix="/reports/drafts", tags=["reports"])


@router.get("")
def listing(session: SessionDep, user: UserDep,
            period: Annotated[str | None, Query(max_length=16, description="2026-H1, 2026")
                              ] = None,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Offset = 0) -> DraftList:
    """The drafts the scheduler made before each deadline, newest period first, the city's
    before the wards'. A ward-limited user sees their wards' drafts only, not the city's."""
    rows, total = service.listing(session=session, wards=user.wards, period=period,
                                  limit=limit, offset=offset)
    return DraftList(items=[DraftRead.of(row) for row in rows], total=total)


@router.get("/{draft_id}", response_model=ActivityReport, responses={
    200: {"content": {f.media_type: {} for f in formats.FORMATS.values() if f.extension != "json"},
          "description": "the draft's report as computed; a file with ?format=csv|xlsx|pdf"}})
def read(draft_id: IdPath, session: SessionDep, user: UserDep, runtime: RuntimeDep,
         format: Annotated[str, Query(description="json, csv, xlsx or pdf")] = "json"
         ) -> Response:
    """A draft's report with the figures it was computed with (as GET /reports/activity
    answers), or its file."""
    chosen = formats.pick(format)
    draft = service.get(session=session, draft_id=draft_id, user=user, figures=True)
    out = io.BytesIO()
    chosen.write(service.report(draft), formats.names(session), out, runtime.settings)
    headers = {} if chosen.extension == "json" else {
        "Content-Disposition": f'attachment; filename="{service.file_name(draft, format)}"'}
    return Response(out.getvalue(), media_type=chosen.media_type, headers=headers)


@router.post("/{draft_id}/regenerate")
def regenerate(draft_id: IdPath, request: Request, session: SessionDep, user: ApproverDep,
               runtime: RuntimeDep) -> DraftRead:
    """Compute a draft again from the ledger as it is now (admins and approvers; a
    ward-limited one, their wards' drafts only). The new figures replace the old ones; the
    audit log keeps the old totals."""
    settings = runtime.settings
    draft = service.regenerate(session=session, draft_id=draft_id, user=user,
                               actor=actor(request, user), now=utcnow(),
                               cutoffs=settings.report_cutoffs, timezone=settings.timezone)
    return DraftRead.of(draft)
