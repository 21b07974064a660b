"""Pages: the week calendar, the timetable list and the timetable editor (web engineer B)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.context import AppContext as Runtime
from scheduler.deps import RuntimeDep, SessionDep, actor
from scheduler.errors import DomainError
from scheduler.groups import service as groups
from scheduler.http_errors import status_of
from scheduler.ids import IdPath, Offset
from scheduler.planning import scheduling
from scheduler.stations.models import Station
from scheduler.timetables import service
from scheduler.timetables.models import Timetable
from scheduler.timetables.schemas import TimetableCreate, TimetableUpdate
from scheduler.users.models import User
from scheduler.web import format as fmt
from scheduler.web import i18n, targets, timetable_preview, week
from scheduler.web import recurrence_picker as picker
from scheduler.web.i18n import N_
from scheduler.web.names import Names
from scheduler.web.paging import Pager
from scheduler.web.session import PageUser, SchedulerPage
from scheduler.web.templating import flash, language, redirect, render
from scheduler.web.timetable_form import PostedForm, TimetableForm, said
from wardcast.protocol import Priority, utcnow

router = APIRouter()
PAGE_SIZE = 20
NOT_SCHEDULABLE = N_("The bulletin “%(title)s” is not approved yet: it can be scheduled once "
                     "it is approved.")


def _editor(request: Request, session: Session, runtime: Runtime, user: User,
            form: TimetableForm, *, timetable_id: int | None = None, error: str | None = None,
            conflict: bool = False, notice: str | None = None,
            status_code: int = 200) -> HTMLResponse:
    lang = language(request)
    if timetable_id:
        service.get(session=session, timetable_id=timetable_id, user=user)  # theirs to see
    # the preview rehearses the timetable and rolls the session back, which would leave every
    # object loaded before it stale (one query each when the page reads it): load after it
    preview = timetable_preview.build(session=session, form=form, user=user, lang=lang,
                                      default_zone=runtime.settings.timezone,
                                      horizon=runtime.horizon, ahead=runtime.lookahead,
                                      timetable_id=timetable_id)
    choices = targets.choices(session=session, user=user)
    shown = timetable_id
    return render(request, "timetables/edit.html", status_code=status_code, form=form,
                  timetable_id=shown, error=error, conflict=conflict, notice=notice,
                  choices=choices, repeats=picker.REPEATS, presets=picker.PRESETS,
                  weekdays=picker.weekday_names(lang), priorities=list(Priority),
                  preview=preview)


def _refused(request: Request, session: Session, runtime: Runtime, user: User,
             form: TimetableForm, exc: DomainError | ValidationError,
             timetable_id: int | None = None) -> HTMLResponse:
    """Show the form again with the refusal (e.g. the conflict), keeping everything typed."""
    session.rollback()  # nothing of a refused timetable may be kept
    lang = language(request)
    if isinstance(exc, DomainError):
        message, status = said(exc, lang), status_of(exc)
    else:
        message, status = ("Dữ liệu không hợp lệ — invalid input: "
                           + "; ".join(str(e["msg"]) for e in exc.errors())), 422
        message = fmt.in_language(message, lang=lang)
    return _editor(request, session, runtime, user, form, timetable_id=timetable_id,
                   status_code=status, error=message,
                   conflict=getattr(exc, "code", "") == "timetable_conflict")


def _calendar_targets(session: Session, user: User, station_id: int | None,
                      group_id: int | None) -> tuple[list[Station], list[Station], str | None]:
    """The stations the calendar shows (a station, a group's members), the user's stations,
    and the chosen group's name."""
    choices = targets.choices(session=session, user=user)
    visible = {s.id: s for s in choices.stations}
    if group_id is not None:
        members = groups.station_ids(session=session, group_ids=[group_id], field="group_id")
        name = next((g.name for g in choices.groups if g.id == group_id), None)
        return [visible[i] for i in members if i in visible], choices.stations, name
    if station_id is not None and station_id in visible:
        return [visible[station_id]], choices.stations, None
    return choices.stations[:1], choices.stations, None


def _describe(timetable: Timetable, lang: str) -> str:
    """How often a timetable plays, in words ("Thứ Hai–Thứ Sáu, lúc 06:00 và 17:00")."""
    return picker.describe(timetable.recurrence, lang=lang,
                           start=datetime.fromisoformat(timetable.starts_at_local))


@router.get("/timetables", response_class=HTMLResponse)
def calendar(request: Request, session: SessionDep, runtime: RuntimeDep, user: PageUser,
             station_id: Annotated[int | None, Query(ge=1)] = None,
             group_id: Annotated[int | None, Query(ge=1)] = None,
             week_of: Annotated[str | None, Query(alias="week", max_length=10)] = None,
             offset: Offset = 0) -> HTMLResponse:
    """The week calendar of a station or group, and the list of timetables."""
    shown, visible, group_name = _calendar_targets(session, user, station_id, group_id)
    zone = shown[0].timezone if shown else runtime.settings.timezone
    now = utcnow()
    monday = week.week_start(week_of, zone=zone, now=now)
    lang = language(request)
    days = week.week(session=session, stations=shown, monday=monday, zone=zone, lang=lang,
                     now=now)
    rows, total = service.listing(session=session, limit=PAGE_SIZE, offset=offset,
                                  wards=user.wards)
    picked = ({"group_id": str(group_id)} if group_id else
              {"station_id": str(shown[0].id)} if shown else {})
    choices = targets.choices(session=session, user=user)
    return render(request, "timetables/list.html", days=days, shown=shown, stations=visible,
                  groups=choices.groups, programmes={p.id: p.title for p in choices.programmes},
                  group_id=group_id, group_name=group_name, zone_shown=zone, picked=picked,
                  monday=monday, previous=(monday - timedelta(days=7)).isoformat(),
                  next=(monday + timedelta(days=7)).isoformat(), rows=rows,
                  names=Names(session), describe=lambda t: _describe(t, lang),
                  custom=lambda r: picker.choice_for(r).repeat == "custom",
                  own=lambda t: service.own_stations(t, user.wards),
                  pager=Pager("/timetables", {**picked, "week": monday.isoformat()}, total,
                              offset, PAGE_SIZE))


@router.get("/timetables/new", response_class=HTMLResponse)
def new(request: Request, session: SessionDep, runtime: RuntimeDep, user: SchedulerPage,
        station_id: Annotated[int | None, Query(ge=1)] = None,
        group_id: Annotated[int | None, Query(ge=1)] = None,
        bulletin_id: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    """An empty editor (tomorrow, 06:00), for the station or group the calendar showed, or
    the bulletin whose page sent the clerk here ("Xếp lịch bản tin này")."""
    tomorrow = (fmt.local(utcnow(), runtime.settings.timezone) + timedelta(days=1)).date()
    form = TimetableForm(day=picker.show_day(tomorrow),
                         station_ids=[station_id] if station_id else [],
                         group_ids=[group_id] if group_id else [])
    notice = None
    if bulletin_id is not None:
        approved = {b.id for b in targets.choices(session=session, user=user).bulletins}
        if bulletin_id in approved:
            form.what = f"b:{bulletin_id}"
        else:
            notice = i18n.gettext(language(request), NOT_SCHEDULABLE) % {
                "title": Names(session).bulletin(bulletin_id)}
    return _editor(request, session, runtime, user, form, notice=notice)


@router.post("/timetables/preview", response_class=HTMLResponse)
def preview(request: Request, session: SessionDep, runtime: RuntimeDep, user: SchedulerPage,
            form: PostedForm,
            timetable_id: Annotated[int | None, Form(ge=1)] = None) -> HTMLResponse:
    """The editor's preview as the clerk types (an HTML fragment the page puts in place)."""
    if timetable_id is not None:
        service.get(session=session, timetable_id=timetable_id, user=user)
    shown = timetable_preview.build(session=session, form=form, user=user,
                                    lang=language(request),
                                    default_zone=runtime.settings.timezone,
                                    horizon=runtime.horizon, ahead=runtime.lookahead,
                                    timetable_id=timetable_id)
    return render(request, "timetables/preview.html", preview=shown)


@router.post("/timetables", response_class=HTMLResponse)
def create(request: Request, session: SessionDep, runtime: RuntimeDep, user: SchedulerPage,
           form: PostedForm) -> Response:
    """Save a new timetable; a refusal (conflict, past start…) keeps the form as typed."""
    try:
        what = form.what_fields()
        timetable_preview.refuse_past(session=session, form=form, user=user)
        body = TimetableCreate(**what, station_ids=form.station_ids,
                               group_ids=form.group_ids, starts_at=form.starts_at(),
                               recurrence=form.recurrence(), until=form.until_at(),
                               priority=Priority(form.priority), displace=form.displace)
        timetable = scheduling.create(session=session, data=body, by=user,
                                      default_zone=runtime.settings.timezone,
                                      horizon=runtime.horizon,
                                      lookahead=runtime.lookahead)
    except (DomainError, ValidationError) as exc:
        return _refused(request, session, runtime, user, form, exc)
    audit.record(session=session, actor=actor(request, user), action="timetable.create",
                 target_type="timetable", target_id=timetable.id,
                 **body.model_dump(mode="json"))
    return _saved(timetable, form, N_("Timetable saved."))


def _saved(timetable: Timetable, form: TimetableForm, message: str) -> Response:
    """Go to the calendar at the week of the timetable's next broadcast (not this week)."""
    shown: dict[str, str] = {}
    if form.group_ids and not form.station_ids:
        shown["group_id"] = str(form.group_ids[0])
    elif timetable.stations:
        shown["station_id"] = str(timetable.stations[0].id)
    first = timetable_preview.first_day(timetable)
    if first is not None:
        shown["week"] = first.isoformat()
    answer = redirect("/timetables" + (f"?{urlencode(shown)}" if shown else ""))
    flash(answer, message)
    return answer


@router.get("/timetables/{timetable_id}/edit", response_class=HTMLResponse)
def edit(timetable_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
         user: SchedulerPage) -> HTMLResponse:
    """The editor filled with a timetable."""
    timetable = service.get(session=session, timetable_id=timetable_id, user=user)
    return _editor(request, session, runtime, user, TimetableForm.of(timetable, session),
                   timetable_id=timetable_id)


@router.post("/timetables/{timetable_id}", response_class=HTMLResponse)
def update(timetable_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
           user: SchedulerPage, form: PostedForm) -> Response:
    """Change a timetable; its future slots are re-planned at once."""
    try:
        timetable = service.get(session=session, timetable_id=timetable_id, user=user)
        change: dict[str, Any] = {
            **form.what_fields(), "station_ids": form.station_ids, "group_ids": form.group_ids,
            "recurrence": form.recurrence(), "until": form.until_at(),
            "priority": Priority(form.priority), "displace": form.displace}
        # an unchanged start is not sent: a one-off already under way may still be edited
        if form.starts_at().isoformat() != timetable.starts_at_local:
            timetable_preview.refuse_past(session=session, form=form, user=user)
            change["starts_at"] = form.starts_at()
        body = TimetableUpdate(**change)
        timetable = scheduling.update(session=session, timetable_id=timetable_id,
                                      change=body, by=user,
                                      default_zone=runtime.settings.timezone,
                                      horizon=runtime.horizon,
                                      lookahead=runtime.lookahead)
    except (DomainError, ValidationError) as exc:
        return _refused(request, session, runtime, user, form, exc, timetable_id)
    audit.record(session=session, actor=actor(request, user), action="timetable.update",
                 target_type="timetable", target_id=timetable.id,
                 **body.model_dump(mode="json", exclude_unset=True))
    return _saved(timetable, form, N_("Timetable saved."))


@router.post("/timetables/{timetable_id}/delete")
def delete(timetable_id: IdPath, request: Request, session: SessionDep,
           user: SchedulerPage) -> Response:
    """Delete a timetable; its future playbacks are cancelled."""
    scheduling.delete(session=session, timetable_id=timetable_id, by=user)
    audit.record(session=session, actor=actor(request, user), action="timetable.delete",
                 target_type="timetable", target_id=timetable_id)
    answer = redirect("/timetables")
    flash(answer, N_("Timetable deleted; its coming playbacks are cancelled."), kind="warn")
    return answer
