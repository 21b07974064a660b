"""Pages: the emergency broadcast (approvers and admins): choose, confirm, watch (engineer B)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.broadcasts import service
from scheduler.broadcasts.models import Broadcast
from scheduler.broadcasts.schemas import BroadcastCreate
from scheduler.bulletins import service as bulletins
from scheduler.deps import RuntimeDep, SessionDep, actor
from scheduler.errors import DomainError, InvalidInput, NotFound
from scheduler.groups import service as groups
from scheduler.http_errors import status_of
from scheduler.ids import IdPath
from scheduler.playbacks import service as playbacks
from scheduler.playbacks.models import NOT_STARTED, Playback
from scheduler.stations.models import Station
from scheduler.users.models import User
from scheduler.web import format as fmt
from scheduler.web import targets
from scheduler.web.i18n import N_
from scheduler.web.session import EmergencyPage
from scheduler.web.templating import flash, language, redirect, render
from wardcast.protocol import Priority

router = APIRouter()
Ids = Annotated[list[str], Form()]
MAX_PLAYBACKS = 20000
# how a playback's status reads on the live view, from sent to done
STAGES = {"planned": N_("Sent"), "delivered": N_("Received"), "ready": N_("Audio ready"),
          "playing": N_("Started, playing"), "played": N_("Played"), "failed": N_("Failed"),
          "missed": N_("Missed"), "skipped": N_("Skipped"), "interrupted": N_("Interrupted"),
          "cancelled": N_("Cancelled")}


@dataclass
class EmergencyForm:
    """The choices on the emergency page, kept as typed for the confirm step and refusals."""

    bulletin_id: str = ""
    everyone: bool = False
    station_ids: list[int] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)
    repeat: int = 1
    gap_s: float = 0
    valid_minutes: float = 30

    def bulletin(self) -> int:
        if not self.bulletin_id.isdigit():
            raise InvalidInput("Cần chọn một bản tin đã duyệt — choose an approved bulletin",
                               field="bulletin_id")
        return int(self.bulletin_id)


def _posted(bulletin_id: Annotated[str, Form(max_length=20)] = "",
            everyone: Annotated[str, Form(max_length=8)] = "",
            station_ids: Ids = [], group_ids: Ids = [],  # noqa: B006 - FastAPI copies defaults
            repeat: Annotated[str, Form(max_length=8)] = "1",
            gap_s: Annotated[str, Form(max_length=12)] = "0",
            valid_minutes: Annotated[str, Form(max_length=12)] = "30") -> EmergencyForm:
    """Read the emergency form as posted to the confirm step and to the send."""
    def number(text: str, default: float) -> float:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return default

    return EmergencyForm(bulletin_id=bulletin_id.strip(), everyone=bool(everyone),
                         station_ids=targets.ids(station_ids), group_ids=targets.ids(group_ids),
                         repeat=int(number(repeat, 1)), gap_s=number(gap_s, 0),
                         valid_minutes=number(valid_minutes, 30))


PostedForm = Annotated[EmergencyForm, Depends(_posted)]


def _targets(session: Session, user: User, form: EmergencyForm) -> list[Station]:
    """The stations a broadcast would reach: everyone the user may reach, or those chosen."""
    visible = targets.choices(session=session, user=user).stations
    if form.everyone:
        return visible
    chosen = set(form.station_ids)
    if form.group_ids:
        chosen |= set(groups.station_ids(session=session, group_ids=form.group_ids))
    picked = [s for s in visible if s.id in chosen]
    if not picked:
        raise InvalidInput("Cần chọn ít nhất một trạm hoặc nhóm trạm — choose at least one "
                           "station or group", field="station_ids")
    return picked


def _body(session: Session, user: User, form: EmergencyForm) -> tuple[BroadcastCreate,
                                                                      list[Station]]:
    stations = _targets(session, user, form)
    # to groups or everyone it goes out as one message per group, fanned out by the broker;
    # a ward-limited user's reach is their own stations, named one by one
    whole = user.wards is None
    body = BroadcastCreate(bulletin_id=form.bulletin(),
                           station_ids=(form.station_ids if whole else [s.id for s in stations]),
                           group_ids=form.group_ids if whole and not form.everyone else [],
                           everyone=whole and form.everyone,
                           priority=Priority.EMERGENCY, repeat=form.repeat, gap_s=form.gap_s,
                           valid_minutes=form.valid_minutes)
    return body, stations


def _chooser(request: Request, session: Session, user: User, form: EmergencyForm, *,
             error: str | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "emergency/choose.html", status_code=status_code, form=form,
                  error=error, choices=targets.choices(session=session, user=user))


def _refused(request: Request, session: Session, user: User, form: EmergencyForm,
             exc: DomainError | ValidationError) -> HTMLResponse:
    session.rollback()
    if isinstance(exc, DomainError):
        message, status = str(exc), status_of(exc)
    else:
        message, status = ("Dữ liệu không hợp lệ — invalid input: "
                           + "; ".join(str(e["msg"]) for e in exc.errors())), 422
    return _chooser(request, session, user, form, status_code=status,
                    error=fmt.in_language(message, lang=language(request)))


@router.get("/emergency", response_class=HTMLResponse)
def choose(request: Request, session: SessionDep, user: EmergencyPage) -> HTMLResponse:
    """Pick the bulletin and the stations or groups."""
    return _chooser(request, session, user, EmergencyForm())


@router.post("/emergency/confirm", response_class=HTMLResponse)
def confirm(request: Request, session: SessionDep, user: EmergencyPage,
            form: PostedForm) -> HTMLResponse:
    """Say exactly what will play where, and ask once more before sending."""
    try:
        body, stations = _body(session, user, form)
        bulletin = bulletins.get_approved(session=session, bulletin_id=body.bulletin_id)
    except (DomainError, ValidationError) as exc:
        return _refused(request, session, user, form, exc)
    return render(request, "emergency/confirm.html", form=form, body=body, stations=stations,
                  bulletin=bulletin)


@router.post("/emergency")
def send(request: Request, session: SessionDep, runtime: RuntimeDep, user: EmergencyPage,
         form: PostedForm) -> Response:
    """Send the emergency broadcast now, then watch it."""
    try:
        body, _stations = _body(session, user, form)
        created = service.create(session=session, data=body, by=user)
    except (DomainError, ValidationError) as exc:
        return _refused(request, session, user, form, exc)
    audit.record(session=session, actor=actor(request, user), action="broadcast.create",
                 target_type="broadcast", target_id=created.broadcast.id, **body.model_dump())
    dispatcher = runtime.dispatcher
    created = service.send(session=session, created=created,
                           publish=dispatcher.publish if dispatcher is not None else None)
    answer = redirect(f"/emergency/{created.broadcast.id}")
    flash(answer, N_("Emergency broadcast sent to %(n)s stations."), kind="warn",
          n=len(created.station_ids))
    return answer


def _broadcast(session: Session, broadcast_id: int) -> Broadcast:
    # the broadcasts service has no read function yet; a primary-key lookup is all we need
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise NotFound(f"Không tìm thấy lần phát khẩn cấp {broadcast_id} — broadcast not found",
                       field="broadcast_id")
    return broadcast


@dataclass(frozen=True)
class Target:
    """One station of a broadcast and how far its playbacks got."""

    station: Station
    playbacks: list[Playback]

    @property
    def status(self) -> str:
        """Playing if any repeat plays; else the next repeat's stage; else how it ended."""
        statuses = [p.status for p in sorted(self.playbacks, key=lambda p: p.scheduled_at)]
        if "playing" in statuses:
            return "playing"
        waiting = [s for s in statuses if s in NOT_STARTED]
        if waiting:
            return waiting[0]
        return next((s for s in statuses if s != "played"), "played")

    @property
    def played(self) -> int:
        return sum(1 for p in self.playbacks if p.status == "played")


def _progress(session: Session, user: User, broadcast: Broadcast) -> list[Target]:
    rows, _ = playbacks.listing(
        session=session, limit=MAX_PLAYBACKS, offset=0,
        filters=playbacks.PlaybackFilter(bulletin_id=broadcast.bulletin_id,
                                         start=broadcast.created_at, wards=user.wards))
    by_station: dict[int, list[Playback]] = {}
    for playback in rows:
        if playback.broadcast_id == broadcast.id:
            by_station.setdefault(playback.station_id, []).append(playback)
    visible = {s.id: s for s in targets.choices(session=session, user=user).stations}
    return [Target(visible[sid], found) for sid, found in sorted(by_station.items())
            if sid in visible]


def _watch_context(session: Session, user: User, broadcast_id: int) -> dict[str, Any]:
    broadcast = _broadcast(session, broadcast_id)
    rows = _progress(session, user, broadcast)
    return {"broadcast": broadcast, "rows": rows, "stages": STAGES,
            "bulletin": bulletins.get(session=session, bulletin_id=broadcast.bulletin_id),
            "started": sum(1 for r in rows if r.status in ("playing", "played")),
            "failed": sum(1 for r in rows if r.status in ("failed", "missed", "skipped",
                                                          "interrupted"))}


@router.get("/emergency/{broadcast_id}", response_class=HTMLResponse)
def watch(broadcast_id: IdPath, request: Request, session: SessionDep,
          user: EmergencyPage) -> HTMLResponse:
    """Each target station's progress with the broadcast, refreshing itself."""
    return render(request, "emergency/watch.html",
                  **_watch_context(session, user, broadcast_id))


@router.get("/emergency/{broadcast_id}/fragment", response_class=HTMLResponse)
def watch_fragment(broadcast_id: IdPath, request: Request, session: SessionDep,
                   user: EmergencyPage) -> HTMLResponse:
    """Only the progress table, for the page to poll."""
    answer = render(request, "emergency/progress.html",
                    **_watch_context(session, user, broadcast_id))
    answer.headers["Cache-Control"] = "no-store"
    return answer
