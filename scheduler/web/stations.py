"""Pages: the live station dashboard and registering a station (web engineer B)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from scheduler.context import AppContext
from scheduler.deps import RuntimeDep, SessionDep, actor
from scheduler.errors import DomainError, InvalidInput, NotFound
from scheduler.http_errors import status_of
from scheduler.ids import IdPath, Offset
from scheduler.playbacks import service as playbacks
from scheduler.playbacks.models import NOT_STARTED, Playback, PlaybackStatus
from scheduler.stations import service, tokens
from scheduler.stations.models import Station
from scheduler.users.models import User
from scheduler.web import format as fmt
from scheduler.web import streams
from scheduler.web.i18n import N_, gettext
from scheduler.web.names import Names
from scheduler.web.paging import Pager
from scheduler.web.session import AdminPage, PageUser
from scheduler.web.templating import language, render
from wardcast.protocol import clock_off, utcnow

router = APIRouter()
PAGE_SIZE = 100  # an old office PC redraws this many rows every few seconds without strain
MAX_UPCOMING = 20000


@dataclass(frozen=True)
class Row:
    """One station on the dashboard."""

    station: Station
    now_playing: str | None
    ready: int  # upcoming items whose audio the agent has cached
    upcoming: int  # upcoming items not yet started
    at_risk: list[Playback] = field(default_factory=list)  # its plan or audio missing, soon

    @property
    def clock_warning(self) -> bool:
        """Tell whether the clock is surely over the limit (protocol.clock_off)."""
        return clock_off(self.station.clock_offset_ms, self.station.clock_uncertainty_ms)


def clock_offset(ms: int | None, lang: str) -> str:
    """Show a clock offset as "+120 ms" or "−1,5 s" (decimal comma in Vietnamese)."""
    if ms is None:
        return "—"
    sign = "+" if ms > 0 else ("−" if ms < 0 else "±")
    return sign + _magnitude(abs(ms), lang)


def clock_uncertainty(ms: int | None, lang: str) -> str:
    """Show how far an offset may be wrong as "±4 ms", or nothing when the agent did not say."""
    return "" if ms is None else "±" + _magnitude(ms, lang)


def _magnitude(ms: int, lang: str) -> str:
    if ms < 1000:
        return f"{ms} ms"
    text = f"{ms / 1000:.1f}"
    return f"{text.replace('.', ',') if lang == 'vi' else text} s"


def board(*, session: Session, user: User, horizon_end: datetime, at_risk_lead: timedelta,
          ward: str | None, offset: int) -> tuple[list[Row], int]:
    """A page of the stations a user may see (of one ward, if given), with what they play, how
    much of their coming audio they have cached and what is at risk of being missed; and how
    many stations there are."""
    wards = user.wards
    if ward:
        wards = frozenset({ward}) & wards if wards is not None else frozenset({ward})
    rows, total = service.listing(session=session, limit=PAGE_SIZE, offset=offset, wards=wards)
    upcoming, _ = playbacks.listing(
        session=session, limit=MAX_UPCOMING, offset=0,
        filters=playbacks.PlaybackFilter(start=utcnow(), end=horizon_end,
                                         station_ids=tuple(s.id for s in rows)))
    ready: dict[int, int] = {}
    waiting: dict[int, int] = {}
    for playback in upcoming:
        if playback.status in NOT_STARTED:
            waiting[playback.station_id] = waiting.get(playback.station_id, 0) + 1
            if playback.status == PlaybackStatus.READY.value:
                ready[playback.station_id] = ready.get(playback.station_id, 0) + 1
    risky, _ = playbacks.listing(
        session=session, limit=MAX_UPCOMING, offset=0,
        filters=playbacks.PlaybackFilter(at_risk_by=playbacks.at_risk_by(at_risk_lead),
                                         station_ids=tuple(s.id for s in rows)))
    at_risk: dict[int, list[Playback]] = {}
    for playback in risky:
        at_risk.setdefault(playback.station_id, []).append(playback)
    names = Names(session)
    answer = []
    for station in rows:
        title = None
        if station.online and station.now_playing_id is not None:
            try:
                playing = playbacks.get(session=session, playback_id=station.now_playing_id)
                title = names.item(playing)
            except NotFound:
                title = f"#{station.now_playing_id}"
        answer.append(Row(station, title, ready.get(station.id, 0), waiting.get(station.id, 0),
                          at_risk.get(station.id, [])))
    return answer, total


def _board_context(request: Request, session: Session, runtime: AppContext, user: User,
                   ward: str | None, offset: int) -> dict[str, Any]:
    ward = (ward or "").strip() or None
    rows, total = board(session=session, user=user, horizon_end=utcnow() + runtime.horizon,
                        at_risk_lead=runtime.at_risk_lead, ward=ward, offset=offset)
    lang = language(request)
    pager = Pager("/stations", {"ward": ward or ""}, total, offset, PAGE_SIZE)
    return {"rows": rows, "online": sum(1 for r in rows if r.station.online), "ward": ward,
            "names": Names(session), "at_risk": sum(len(r.at_risk) for r in rows),
            "offset_text": lambda ms: clock_offset(ms, lang),
            "uncertainty_text": lambda ms: clock_uncertainty(ms, lang), "checked_at": utcnow(),
            "clock_text": lambda s: clock_words(s.clock_offset_ms, s.clock_uncertainty_ms, lang),
            "streams": streams.flags(session=session, lang=lang, zone=runtime.settings.timezone),
            "pager": pager, "fragment": "/stations/fragment?" + pager.query(
                offset=str(offset) if offset else "")}


Ward = Annotated[str | None, Query(max_length=120)]


@router.get("/stations", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, runtime: RuntimeDep, user: PageUser,
              ward: Ward = None, offset: Offset = 0) -> HTMLResponse:
    """The live station dashboard (its table refreshes itself every few seconds)."""
    context = _board_context(request, session, runtime, user, ward, offset)
    return render(request, "stations/list.html", **context)


@router.get("/stations/fragment", response_class=HTMLResponse)
def dashboard_fragment(request: Request, session: SessionDep, runtime: RuntimeDep,
                       user: PageUser, ward: Ward = None, offset: Offset = 0) -> HTMLResponse:
    """Only the dashboard's table, for the page to poll."""
    context = _board_context(request, session, runtime, user, ward, offset)
    answer = render(request, "stations/board.html", **context)
    answer.headers["Cache-Control"] = "no-store"
    return answer


@router.get("/stations/new", response_class=HTMLResponse)
def register_form(request: Request, runtime: RuntimeDep, _user: AdminPage) -> HTMLResponse:
    """The form to register a station (admins)."""
    return render(request, "stations/new.html", error=None, name="", ward="",
                  timezone=runtime.settings.timezone)


@router.post("/stations", response_class=HTMLResponse)
def register(request: Request, session: SessionDep, runtime: RuntimeDep, user: AdminPage,
             name: Annotated[str, Form(max_length=120)],
             ward: Annotated[str, Form(max_length=120)],
             timezone: Annotated[str, Form(max_length=64)] = "") -> Response:
    """Register a station and show its token this once (it is never stored in clear)."""
    name, ward, timezone = name.strip(), ward.strip(), timezone.strip()
    try:
        if not name or not ward:
            raise InvalidInput("Cần nhập tên trạm và phường — name and ward are required",
                              field="name")
        station, token = tokens.register(session=session, runtime=runtime,
                                         actor=actor(request, user), user=user, name=name,
                                         ward=ward, timezone=timezone)
    except DomainError as exc:
        session.rollback()
        return render(request, "stations/new.html", status_code=status_of(exc),
                      error=fmt.in_language(str(exc), lang=language(request)), name=name,
                      ward=ward, timezone=timezone or runtime.settings.timezone)
    answer = render(request, "stations/token.html", station=station, token=token,
                    server=str(request.base_url).rstrip("/"))
    # the token must not linger in any cache, nor come back with the browser's Back button
    answer.headers["Cache-Control"] = "no-store"
    return answer


@router.post("/stations/{station_id}/token", response_class=HTMLResponse)
def rotate(station_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
           user: AdminPage) -> Response:
    """Issue a new token (the old one stops working at once) and show it this once."""
    station, token = tokens.rotate(session=session, runtime=runtime, actor=actor(request, user),
                                   user=user, station_id=station_id)
    answer = render(request, "stations/token.html", station=station, token=token, rotated=True,
                    server=str(request.base_url).rstrip("/"))
    answer.headers["Cache-Control"] = "no-store"
    return answer


CLOCK_UNKNOWN = N_("The station has not reported its clock yet")
CLOCK_RIGHT = N_("The station's clock is on time")
CLOCK_FAST = N_("The station's clock is %(time)s fast")
CLOCK_SLOW = N_("The station's clock is %(time)s slow")


def clock_words(offset_ms: int | None, uncertainty_ms: int | None, lang: str) -> str:
    """Say a station's clock in plain words: on time unless surely over the limit, else how
    many seconds fast or slow (a positive offset: the agent is behind, so slow)."""
    if offset_ms is None:
        return gettext(lang, CLOCK_UNKNOWN)
    if not clock_off(offset_ms, uncertainty_ms):
        return gettext(lang, CLOCK_RIGHT)
    time = fmt.hours_minutes(max(1, round(abs(offset_ms) / 1000)), lang=lang)  # "3 giây"
    return gettext(lang, CLOCK_SLOW if offset_ms > 0 else CLOCK_FAST) % {"time": time}
