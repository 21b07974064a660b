"""The activity report over a period, as JSON or a file."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from scheduler.deps import RuntimeDep, SessionDep, UserDep
from scheduler.reports import formats, scope, service
from scheduler.reports.schemas import ActivityReport
from wardcast.protocol import utcnow

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/activity", response_model=ActivityReport, responses={
    200: {"content": {f.media_type: {} for f in formats.FORMATS.values() if f.extension != "json"},
          "description": "the report; a file with ?format=csv|xlsx|pdf"}})
def activity(session: SessionDep, user: UserDep, runtime: RuntimeDep,
             period: Annotated[str | None, Query(
                 max_length=16, description="2026-H1, 2026-H2 or 2026 (Decree 09/2019 "
                                            "cut-offs by default)")] = None,
             first: Annotated[date | None, Query(alias="from", description=(
                 "first local date (WARDCAST_TIMEZONE), with `to`"))] = None,
             last: Annotated[date | None, Query(alias="to", description=(
                 "last local date, included"))] = None,
             ward: Annotated[list[str] | None, Query(
                 max_length=scope.MAX_WARDS, description="only these wards (repeat)")] = None,
             format: Annotated[str, Query(description=(
                 "json, csv, xlsx or pdf"))] = "json") -> Response:
    """What each station, ward and the city broadcast over a period (every role; a
    ward-limited user sees only their wards)."""
    chosen = formats.pick(format)
    settings = runtime.settings
    asked = scope.period(name=period, first=first, last=last, timezone=settings.timezone,
                         cutoffs=settings.report_cutoffs)
    wards = scope.wards(session=session, asked=ward, user=user)
    report = service.activity(session=session, period=asked, wards=wards, now=utcnow(),
                              cutoffs=settings.report_cutoffs)
    out = io.BytesIO()
    chosen.write(report, formats.names(session), out, settings)
    name = formats.file_name(report, chosen.extension)
    headers = {} if format == "json" else {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(out.getvalue(), media_type=chosen.media_type, headers=headers)
