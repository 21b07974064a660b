"""The live page (Phát trực tiếp): pick stations or groups and a priority, press start and
speak; the browser sends its microphone (MediaRecorder, Opus) to the live session's socket
(scheduler/live), and stop ends it on every station. The page only shows and sends: the
session, its broadcast and its recording are the API's (POST /api/v1/live, …/stop)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from scheduler.deps import RuntimeDep, SessionDep
from scheduler.web import targets
from scheduler.web.session import EmergencyPage
from scheduler.web.templating import render
from wardcast.protocol import Priority

router = APIRouter()


@router.get("/live", response_class=HTMLResponse)
def live(request: Request, session: SessionDep, runtime: RuntimeDep,
         user: EmergencyPage) -> HTMLResponse:
    """The stations and groups to speak to, the priority, start and stop."""
    return render(request, "live/page.html", choices=targets.choices(session=session, user=user),
                  priorities=[p.value for p in Priority], available=runtime.live is not None)
