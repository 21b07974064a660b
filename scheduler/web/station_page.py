"""Page: one station as its ward official follows it on a phone (/stations/{id}): online
since when, the clock in words, now playing, the next items with their readiness and risk,
stop / volume / test tone with their results, recent playbacks; and the home page's card of the
stations that most need attention."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from scheduler.bulletins import service as bulletins
from scheduler.context import AppContext
from scheduler.controls import router as control_router
from scheduler.controls import service as controls
from scheduler.controls.models import StationCommand
from scheduler.deps import RuntimeDep, SessionDep
from scheduler.errors import DomainError, InvalidInput, NotFound
from scheduler.http_errors import status_of
from scheduler.ids import IdPath
from scheduler.playbacks import service as playbacks
from scheduler.playbacks.models import NOT_STARTED, UNPREPARED, Playback, PlaybackStatus
from scheduler.stations import service
from scheduler.stations.models import Station
from scheduler.users.models import User
from scheduler.web import format as fmt
from scheduler.web.i18n import N_, gettext
from scheduler.web.names import Names
from scheduler.web.session import ControlPage, PageUser
from scheduler.web.stations import Row, board, clock_words
from scheduler.web.templating import flash, language, redirect, render
from wardcast.protocol import CommandType, clock_off, utcnow

router = APIRouter()

RECENT = 10  # playbacks shown under "recent"
NEXT = 3  # coming items shown with their readiness
COMMANDS = 5  # latest commands shown with their results
# a slot already past may still be open (not yet declared missed): still "next" for a while
OPEN_LOOKBACK = timedelta(hours=1)

RISK_OFFLINE = N_("The station has been offline since %(since)s; the bulletin “%(bulletin)s” "
                  "at %(slot)s may not play.")
RISK_NEVER = N_("The station has never connected; the bulletin “%(bulletin)s” at %(slot)s "
                "may not play.")
RISK_PLAN = N_("The station has not received the plan for “%(bulletin)s” at %(slot)s; it may "
               "not play.")
RISK_AUDIO = N_("The station does not have the audio of “%(bulletin)s” at %(slot)s yet; it "
                "may not play.")


@dataclass(frozen=True)
class Coming:
    """A coming item of a station and how ready the station is for it."""

    playback: Playback
    title: str
    plan_delivered: bool  # the agent accepted the plan that holds it
    media_cached: bool  # the agent has its audio
    warning: str | None  # in words, when it is at risk of not playing


@dataclass(frozen=True)
class NowPlaying:
    playback: Playback
    title: str
    elapsed_ms: int
    duration_ms: int


@dataclass(frozen=True)
class StationView:
    station: Station
    since: datetime | None  # online since, or offline since (last heard from)
    clock: str
    clock_warning: bool  # surely off by more than the limit
    now: NowPlaying | None
    coming: list[Coming]
    recent: list[Playback]
    commands: list[StationCommand]


def risk_warning(station: Station, playback: Playback, title: str, *, lang: str) -> str:
    """Say why a slot at risk may not play, the station's times in its own zone."""
    zone = station.timezone
    slot = fmt.short(playback.scheduled_at, zone=zone, lang=lang)
    values = {"bulletin": title, "slot": slot}
    if not station.online:
        if station.last_seen_at is None:
            return gettext(lang, RISK_NEVER) % values
        since = fmt.short(station.last_seen_at, zone=zone, lang=lang)
        return gettext(lang, RISK_OFFLINE) % (values | {"since": since})
    text = RISK_PLAN if playback.status == PlaybackStatus.PLANNED.value else RISK_AUDIO
    return gettext(lang, text) % values


def station_view(*, session: Session, user: User, station_id: int, at_risk_lead: timedelta,
                 lang: str) -> StationView:
    """What the station page shows of a station the user may see (NotFound / Forbidden)."""
    station = service.get(session=session, station_id=station_id, user=user)
    names = Names(session)
    now = utcnow()
    playing = None
    if station.online and station.now_playing_id is not None:
        try:
            current = playbacks.get(session=session, playback_id=station.now_playing_id)
            length = (current.duration_ms or 0 if current.bulletin_id is None else
                      bulletins.get(session=session, bulletin_id=current.bulletin_id).duration_ms)
            started = current.started_at or current.scheduled_at
            elapsed = max(0, int((now - started).total_seconds() * 1000))
            playing = NowPlaying(current, names.item(current), min(elapsed, length), length)
        except NotFound:
            playing = None
    later, _ = playbacks.listing(session=session, limit=50, offset=0,
                                 filters=playbacks.PlaybackFilter(station_id=station.id,
                                                                  start=now - OPEN_LOOKBACK))
    risky_by = playbacks.at_risk_by(at_risk_lead)
    coming = []
    for playback in [p for p in later if p.status in NOT_STARTED][:NEXT]:
        title = names.item(playback)
        risky = playback.status in UNPREPARED and playback.scheduled_at <= risky_by
        coming.append(Coming(playback, title,
                             plan_delivered=playback.status != PlaybackStatus.PLANNED.value,
                             media_cached=playback.status == PlaybackStatus.READY.value,
                             warning=risk_warning(station, playback, title, lang=lang)
                             if risky else None))
    past = playbacks.PlaybackFilter(station_id=station.id, end=now)
    _, total = playbacks.listing(session=session, limit=1, offset=0, filters=past)
    recent, _ = playbacks.listing(session=session, limit=RECENT,
                                  offset=max(0, total - RECENT), filters=past)
    return StationView(station=station,
                       since=station.online_since if station.online else station.last_seen_at,
                       clock=clock_words(station.clock_offset_ms, station.clock_uncertainty_ms,
                                         lang),
                       clock_warning=clock_off(station.clock_offset_ms,
                                               station.clock_uncertainty_ms),
                       now=playing, coming=coming,
                       recent=[p for p in reversed(recent)
                               if playing is None or p.id != playing.playback.id],
                       commands=controls.listing(session=session, station_id=station.id,
                                                 limit=COMMANDS))


def _station_context(request: Request, session: Session, runtime: AppContext, user: User,
                     station_id: int) -> dict[str, Any]:
    lang = language(request)
    view = station_view(session=session, user=user, station_id=station_id,
                        at_risk_lead=runtime.at_risk_lead, lang=lang)
    volume = next((json.loads(c.args).get("percent") for c in view.commands
                   if c.type == CommandType.VOLUME.value), None)
    return {"view": view, "s": view.station, "names": Names(session), "checked_at": utcnow(),
            "volume": 100 if volume is None else volume, "error": None,
            "args_of": json.loads}


@router.get("/stations/{station_id}", response_class=HTMLResponse)
def station_page(station_id: IdPath, request: Request, session: SessionDep,
                 runtime: RuntimeDep, user: PageUser) -> HTMLResponse:
    """One station: online or not since when, now playing, next up, controls, recent."""
    context = _station_context(request, session, runtime, user, station_id)
    return render(request, "stations/station.html", **context)


@router.get("/stations/{station_id}/live", response_class=HTMLResponse)
def station_live(station_id: IdPath, request: Request, session: SessionDep,
                 runtime: RuntimeDep, user: PageUser) -> HTMLResponse:
    """Only the station page's live part, for the page to poll."""
    context = _station_context(request, session, runtime, user, station_id)
    answer = render(request, "stations/live.html", **context)
    answer.headers["Cache-Control"] = "no-store"
    return answer


COMMAND_SENT = N_("Command sent to %(station)s.")


@router.post("/stations/{station_id}/commands", response_class=HTMLResponse)
def send_command(station_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
                 user: ControlPage, kind: Annotated[str, Form(alias="type", max_length=16)],
                 percent: Annotated[str, Form(max_length=16)] = "") -> Response:
    """Stop, set the volume or play a test tone at a station (as the API), then come back."""
    try:
        if kind not in PAGE_COMMANDS:
            raise InvalidInput("Lệnh không hợp lệ — unknown command", field="type")
        args: dict[str, Any] = {}
        if kind == CommandType.VOLUME.value:
            try:
                args["percent"] = int(percent.strip())
            except ValueError:
                args["percent"] = percent  # refused by the service, with its message
        station = service.get(session=session, station_id=station_id, user=user)
        control_router.issue(station_id=station_id, kind=CommandType(kind), args=args,
                             request=request, session=session, runtime=runtime, user=user)
    except DomainError as exc:
        session.rollback()
        context = _station_context(request, session, runtime, user, station_id)
        context["error"] = fmt.in_language(str(exc), lang=language(request))
        if kind == CommandType.VOLUME.value:
            context["volume"] = percent  # as typed, to correct
        return render(request, "stations/station.html", status_code=status_of(exc), **context)
    answer = redirect(f"/stations/{station_id}#controls")
    flash(answer, COMMAND_SENT, station=station.name)
    return answer


PAGE_COMMANDS = (CommandType.STOP.value, CommandType.VOLUME.value, CommandType.TEST_TONE.value)


CARDS = 6  # stations on the home page's card, those most needing attention first


@dataclass(frozen=True)
class Attention:
    """The home page's stations card: the stations most needing attention, and counts."""

    rows: list[Row]
    total: int
    online: int
    troubled: int  # offline, something at risk or a clock surely off


def attention(*, session: Session, runtime: AppContext, user: User) -> Attention:
    """The stations (of the user's wards) to look at first: something at risk, then offline,
    then a clock surely off; the others after, up to CARDS."""
    rows, total = board(session=session, user=user, horizon_end=utcnow() + runtime.horizon,
                        at_risk_lead=runtime.at_risk_lead, ward=None, offset=0)
    troubled = [r for r in rows if r.at_risk or not r.station.online or r.clock_warning]
    troubled.sort(key=lambda r: (-len(r.at_risk), r.station.online, not r.clock_warning,
                                 r.station.name))
    calm = [r for r in rows if r not in troubled]
    return Attention(rows=(troubled + calm)[:CARDS], total=total,
                     online=sum(1 for r in rows if r.station.online), troubled=len(troubled))
