"""Pages: the emergency broadcast (approvers and admins): choose an approved bulletin or record
or upload fresh audio, confirm, watch, stop."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.broadcasts import fresh, service, stopping
from scheduler.broadcasts.models import Broadcast
from scheduler.broadcasts.schemas import BroadcastCreate
from scheduler.bulletins import service as bulletins
from scheduler.bulletins import upload
from scheduler.bulletins.models import Bulletin, BulletinStatus
from scheduler.context import AppContext
from scheduler.deps import RuntimeDep, SessionDep, actor
from scheduler.errors import Conflict, DomainError, InvalidInput, NotFound
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
from scheduler.web.names import Names
from scheduler.web.session import EmergencyPage
from scheduler.web.templating import flash, language, redirect, render
from wardcast.protocol import Priority, utcnow

router = APIRouter()
Ids = Annotated[list[str], Form()]
MAX_PLAYBACKS = 20000
# how a playback's status reads on the live view, from sent to done
STAGES = {"planned": N_("Sent"), "delivered": N_("Received"), "ready": N_("Audio ready"),
          "playing": N_("Started, playing"), "played": N_("Played"), "failed": N_("Failed"),
          "missed": N_("Missed"), "skipped": N_("Skipped"), "interrupted": N_("Interrupted"),
          "cancelled": N_("Cancelled")}
# how they read once the broadcast was stopped
STOPPED_STAGES = {**STAGES, "playing": N_("Stopping…"),
                  "interrupted": N_("Stopped while playing"),
                  "cancelled": N_("Stopped before it played")}


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
    fresh: bool = False  # bulletin_id is the user's own recording, made on this page

    def bulletin(self) -> int:
        if not self.bulletin_id.isdigit():
            raise InvalidInput("Cần chọn một bản tin đã duyệt, hoặc ghi âm hay tải tệp âm thanh "
                               "lên — choose an approved bulletin, or record or upload audio",
                               field="bulletin_id")
        return int(self.bulletin_id)


def _posted(bulletin_id: Annotated[str, Form(max_length=20)] = "",
            everyone: Annotated[str, Form(max_length=8)] = "",
            station_ids: Ids = [], group_ids: Ids = [],  # noqa: B006 - FastAPI copies defaults
            repeat: Annotated[str, Form(max_length=8)] = "1",
            gap_s: Annotated[str, Form(max_length=12)] = "0",
            valid_minutes: Annotated[str, Form(max_length=12)] = "30",
            fresh: Annotated[str, Form(max_length=8)] = "") -> EmergencyForm:
    """Read the emergency form as posted to the confirm step and to the send."""
    def number(text: str, default: float) -> float:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return default

    return EmergencyForm(bulletin_id=bulletin_id.strip(), everyone=bool(everyone),
                         station_ids=targets.ids(station_ids), group_ids=targets.ids(group_ids),
                         repeat=int(number(repeat, 1)), gap_s=number(gap_s, 0),
                         valid_minutes=number(valid_minutes, 30), fresh=bool(fresh))


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
    recorded = None
    if form.fresh and form.bulletin_id.isdigit():  # a refusal keeps the new audio
        with suppress(NotFound):
            recorded = bulletins.get(session=session, bulletin_id=int(form.bulletin_id))
    return render(request, "emergency/choose.html", status_code=status_code, form=form,
                  error=error, choices=targets.choices(session=session, user=user),
                  recorded=recorded)


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
def confirm(request: Request, session: SessionDep, runtime: RuntimeDep, user: EmergencyPage,
            form: PostedForm, audio: Annotated[UploadFile | None, File()] = None
            ) -> HTMLResponse:
    """Say exactly what will play where (a fresh recording processed and ready to listen
    to), and ask once more before sending."""
    try:
        if audio is not None and audio.filename:
            if form.bulletin_id:
                raise InvalidInput("Chọn một bản tin đã duyệt hoặc âm thanh mới, không chọn cả "
                                   "hai — choose an approved bulletin or new audio, not both",
                                   field="bulletin_id")
            # everything else is checked before the audio is processed and kept
            _body(session, user, replace(form, bulletin_id="1"))
            recorded = _record(request, session, runtime, user, audio)
            form.bulletin_id, form.fresh = str(recorded.id), True
        body, stations = _body(session, user, form)
        assert body.bulletin_id is not None  # the form always names one
        bulletin = _sendable(session, user, form, body.bulletin_id)
    except (DomainError, ValidationError) as exc:
        return _refused(request, session, user, form, exc)
    return render(request, "emergency/confirm.html", form=form, body=body, stations=stations,
                  bulletin=bulletin)


def _record(request: Request, session: Session, runtime: AppContext, user: User,
            audio: UploadFile) -> Bulletin:
    """Process a recording or upload into the user's pending emergency bulletin."""
    settings = runtime.settings
    bulletins.check_file_name(audio.filename)
    scratch = upload.receive(audio.file, folder=runtime.store.incoming,
                             limit=settings.max_upload_bytes)
    return fresh.record(session=session, store=runtime.store, upload=scratch,
                        filename=audio.filename, by=user, actor=actor(request, user),
                        now=utcnow(), zone=settings.timezone,
                        target_lufs=settings.loudness_target, true_peak=settings.true_peak)


def _sendable(session: Session, user: User, form: EmergencyForm, bulletin_id: int) -> Bulletin:
    """An approved bulletin, or the user's own fresh recording still waiting to be sent."""
    if not form.fresh:
        return bulletins.get_approved(session=session, bulletin_id=bulletin_id)
    bulletin = bulletins.get(session=session, bulletin_id=bulletin_id)
    if bulletin.status != BulletinStatus.PENDING or not fresh.recorded_by(
            session=session, bulletin_id=bulletin_id, user=user):
        raise Conflict("Bản ghi khẩn cấp này không còn chờ gửi — this emergency recording is "
                       "not waiting to be sent", field="bulletin_id")
    return bulletin


@router.post("/emergency")
def send(request: Request, session: SessionDep, runtime: RuntimeDep, user: EmergencyPage,
         form: PostedForm) -> Response:
    """Send the emergency broadcast now, then watch it."""
    who = actor(request, user)
    try:
        body, _stations = _body(session, user, form)
        assert body.bulletin_id is not None  # the form always names one
        if form.fresh:  # approved by the sender's role, and audited as such
            fresh.approve(session=session, bulletin_id=body.bulletin_id, by=user, actor=who)
        created = service.create(session=session, data=body, by=user)
    except (DomainError, ValidationError) as exc:
        return _refused(request, session, user, form, exc)
    audit.record(session=session, actor=who, action="broadcast.create",
                 target_type="broadcast", target_id=created.broadcast.id, **body.model_dump())
    if form.fresh and created.bulletin is not None:
        fresh.audit_sent(session=session, actor=who, bulletin=created.bulletin,
                         broadcast_id=created.broadcast.id, recorder=user.username,
                         stations=len(created.station_ids))
    dispatcher = runtime.dispatcher
    created = service.send(session=session, created=created,
                           publish=dispatcher.publish if dispatcher is not None else None)
    answer = redirect(f"/emergency/{created.broadcast.id}")
    flash(answer, N_("Emergency broadcast sent to %(n)s stations."), kind="warn",
          n=len(created.station_ids))
    return answer


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
    broadcast = stopping.get(session=session, broadcast_id=broadcast_id)
    rows = _progress(session, user, broadcast)
    halted = stopping.stopped_stations(session=session, broadcast_id=broadcast.id)
    started = ("playing", "played")
    return {"broadcast": broadcast, "rows": rows, "halted": halted,
            "stopped": stopping.stopped_at(session=session, broadcast_id=broadcast.id),
            "stages": STAGES, "stopped_stages": STOPPED_STAGES,
            "open": any(p.status in (*NOT_STARTED, "playing") for r in rows
                        if r.station.id not in halted for p in r.playbacks),
            "bulletin": (bulletins.get(session=session, bulletin_id=broadcast.bulletin_id)
                         if broadcast.bulletin_id is not None else None),
            "relayed": Names(session).stream(broadcast.stream_id)
            if broadcast.stream_id is not None else None,
            "started": sum(1 for r in rows if r.status in started
                           or (r.station.id in halted and r.status == "interrupted")),
            "failed": sum(1 for r in rows if r.status in ("failed", "missed", "skipped")
                          or (r.station.id not in halted and r.status == "interrupted"))}


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


@router.post("/emergency/{broadcast_id}/stop")
def stop(broadcast_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
         user: EmergencyPage) -> Response:
    """Stop the broadcast on every station it reached, then watch them stop."""
    answer = redirect(f"/emergency/{broadcast_id}")
    try:
        stopped = stopping.stop(session=session, broadcast_id=broadcast_id, by=user,
                                actor=actor(request, user), now=utcnow())
    except Conflict as exc:
        session.rollback()
        flash(answer, N_("This emergency broadcast was already stopped.")
              if exc.code == stopping.ALREADY
              else N_("Nothing of this broadcast is playing or waiting any more."), kind="warn")
        return answer
    dispatcher = runtime.dispatcher
    stopping.send(session=session, stopped=stopped,
                  send_command=dispatcher.send_command if dispatcher is not None else None)
    flash(answer, N_("Stop sent to %(n)s stations."), kind="warn", n=len(stopped.commands))
    return answer
