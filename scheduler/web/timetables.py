"""Pages: the week calendar, the timetable list and the timetable editor (web engineer B)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.deps import RuntimeDep, SessionDep, actor
from scheduler.errors import DomainError, InvalidInput
from scheduler.groups import service as groups
from scheduler.http_errors import status_of
from scheduler.ids import IdPath, Offset
from scheduler.instants import check_day
from scheduler.planning import scheduling
from scheduler.stations.models import Station
from scheduler.timetables import service
from scheduler.timetables import targets as timetable_targets
from scheduler.timetables.models import Timetable
from scheduler.timetables.schemas import TimetableCreate, TimetableUpdate
from scheduler.users.models import User
from scheduler.web import format as fmt
from scheduler.web import recurrence_picker as picker
from scheduler.web import targets, week
from scheduler.web.i18n import N_
from scheduler.web.names import Names
from scheduler.web.paging import Pager
from scheduler.web.session import PageUser, SchedulerPage
from scheduler.web.templating import flash, language, redirect, render
from wardcast.protocol import Priority, utcnow

router = APIRouter()
PAGE_SIZE = 20
Ids = Annotated[list[str], Form()]


@dataclass
class TimetableForm:
    """What the editor shows and sends back, kept as typed so that a refusal loses nothing."""

    what: str = ""  # "b:ID" a bulletin, "p:ID" a programme
    station_ids: list[int] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)
    day: str = ""
    at: str = "06:00"
    repeat: str = "once"
    weekdays: list[str] = field(default_factory=list)
    rule: str = ""
    until: str = ""
    priority: str = Priority.NORMAL.value
    displace: bool = False

    @classmethod
    def of(cls, timetable: Timetable, session: Session) -> TimetableForm:
        """Fill the editor from a stored timetable (its wall-clock start, rule and targets)."""
        wall = datetime.fromisoformat(timetable.starts_at_local)
        repeat, weekdays, rule = picker.choice_for(timetable.recurrence)
        what = (f"b:{timetable.bulletin_id}" if timetable.bulletin_id is not None
                else f"p:{timetable.programme_id}")
        return cls(what=what,
                   station_ids=timetable_targets.direct_ids(session=session, timetable=timetable),
                   group_ids=timetable_targets.group_ids(session=session, timetable=timetable),
                   day=wall.date().isoformat(),
                   at=wall.strftime("%H:%M"), repeat=repeat, weekdays=weekdays, rule=rule,
                   until=_until_day(timetable), priority=timetable.priority)

    def starts_at(self) -> datetime:
        """The wall-clock start: without an offset it is local time at each station."""
        try:
            day, at = date.fromisoformat(self.day), time.fromisoformat(self.at)
        except ValueError as exc:
            raise InvalidInput("Cần chọn ngày và giờ phát — choose a start date and time",
                               field="starts_at") from exc
        return datetime.combine(check_day(day, field="starts_at"), at)

    def recurrence(self) -> str | None:
        return picker.rule_for(repeat=self.repeat, weekdays=self.weekdays, custom=self.rule,
                               start_weekday=self.starts_at().weekday())

    def until_at(self) -> datetime | None:
        """The last day it plays, to the end of that day (local time)."""
        if not self.until or self.repeat == "once":
            return None
        try:
            day = date.fromisoformat(self.until)
        except ValueError as exc:
            raise InvalidInput("Ngày kết thúc không hợp lệ — invalid until date",
                               field="until") from exc
        return datetime.combine(check_day(day, field="until"), time(23, 59, 59))

    def content(self) -> tuple[int | None, int | None]:
        """The chosen (bulletin_id, programme_id): exactly one of them is set."""
        kind, _, number = self.what.partition(":")
        if kind not in ("b", "p") or not number.isdigit():
            raise InvalidInput("Cần chọn một bản tin đã duyệt hoặc một chương trình — choose an "
                               "approved bulletin or a programme", field="bulletin_id")
        return (int(number), None) if kind == "b" else (None, int(number))


def _until_day(timetable: Timetable) -> str:
    if timetable.until is None:
        return ""
    zone = timetable.stations[0].timezone if timetable.stations else "UTC"
    return fmt.local(timetable.until, zone).date().isoformat()


def _posted(what: Annotated[str, Form(max_length=24)] = "",
            station_ids: Ids = [], group_ids: Ids = [],  # noqa: B006 - FastAPI copies defaults
            day: Annotated[str, Form(max_length=10)] = "",
            at: Annotated[str, Form(max_length=8)] = "",
            repeat: Annotated[str, Form(max_length=10)] = "once",
            weekdays: Ids = [],  # noqa: B006
            rule: Annotated[str, Form(max_length=1000)] = "",
            until: Annotated[str, Form(max_length=10)] = "",
            priority: Annotated[str, Form(max_length=16)] = "normal",
            displace: Annotated[str, Form(max_length=8)] = "") -> TimetableForm:
    """Read the editor as posted, to create a timetable or to change one."""
    return TimetableForm(
        what=what.strip(), station_ids=targets.ids(station_ids),
        group_ids=targets.ids(group_ids), day=day, at=at,
        repeat=repeat if repeat in picker.REPEATS else "once",
        weekdays=[d for d in weekdays if d in picker.WEEKDAYS], rule=rule.strip(),
        until=until, priority=priority if priority in set(Priority) else Priority.NORMAL.value,
        displace=bool(displace))


PostedForm = Annotated[TimetableForm, Depends(_posted)]


def _editor(request: Request, session: Session, user: User, form: TimetableForm, *,
            timetable: Timetable | None = None, error: str | None = None,
            conflict: bool = False, status_code: int = 200) -> HTMLResponse:
    lang = language(request)
    return render(request, "timetables/edit.html", status_code=status_code, form=form,
                  timetable=timetable, error=error, conflict=conflict,
                  choices=targets.choices(session=session, user=user),
                  repeats=picker.REPEATS, weekdays=picker.weekday_names(lang),
                  priorities=list(Priority))


def _refused(request: Request, session: Session, user: User, form: TimetableForm,
             exc: DomainError | ValidationError, timetable_id: int | None = None) -> HTMLResponse:
    """Show the form again with the refusal (e.g. the conflict), keeping everything typed."""
    session.rollback()  # nothing of a refused timetable may be kept
    if isinstance(exc, DomainError):
        message, status = str(exc), status_of(exc)
    else:
        message, status = ("Dữ liệu không hợp lệ — invalid input: "
                           + "; ".join(str(e["msg"]) for e in exc.errors())), 422
    timetable = (service.get(session=session, timetable_id=timetable_id, user=user)
                 if timetable_id else None)
    return _editor(request, session, user, form, timetable=timetable, status_code=status,
                   error=fmt.in_language(message, lang=language(request)),
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
                  names=Names(session), describe=lambda r: picker.describe(r, lang=lang),
                  own=lambda t: service.own_stations(t, user.wards),
                  pager=Pager("/timetables", {**picked, "week": monday.isoformat()}, total,
                              offset, PAGE_SIZE))


@router.get("/timetables/new", response_class=HTMLResponse)
def new(request: Request, session: SessionDep, runtime: RuntimeDep, user: SchedulerPage,
        station_id: Annotated[int | None, Query(ge=1)] = None,
        group_id: Annotated[int | None, Query(ge=1)] = None,
        bulletin_id: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    """An empty editor (tomorrow, 06:00), for the station or group the calendar showed, or
    with the bulletin its page asked to schedule."""
    tomorrow = (fmt.local(utcnow(), runtime.settings.timezone) + timedelta(days=1)).date()
    form = TimetableForm(what=f"b:{bulletin_id}" if bulletin_id else "", day=tomorrow.isoformat(),
                         station_ids=[station_id] if station_id else [],
                         group_ids=[group_id] if group_id else [])
    return _editor(request, session, user, form)


@router.post("/timetables", response_class=HTMLResponse)
def create(request: Request, session: SessionDep, runtime: RuntimeDep, user: SchedulerPage,
           form: PostedForm) -> Response:
    """Save a new timetable; a refusal (conflict, past start…) keeps the form as typed."""
    try:
        bulletin_id, programme_id = form.content()
        body = TimetableCreate(bulletin_id=bulletin_id, programme_id=programme_id,
                               station_ids=form.station_ids,
                               group_ids=form.group_ids, starts_at=form.starts_at(),
                               recurrence=form.recurrence(), until=form.until_at(),
                               priority=Priority(form.priority), displace=form.displace)
        timetable = scheduling.create(session=session, data=body, by=user,
                                      default_zone=runtime.settings.timezone,
                                      horizon=runtime.horizon,
                                      lookahead=runtime.lookahead)
    except (DomainError, ValidationError) as exc:
        return _refused(request, session, user, form, exc)
    audit.record(session=session, actor=actor(request, user), action="timetable.create",
                 target_type="timetable", target_id=timetable.id,
                 **body.model_dump(mode="json"))
    return _saved(timetable, N_("Timetable saved."))


def _saved(timetable: Timetable, message: str) -> Response:
    first = timetable.stations[0].id if timetable.stations else None
    answer = redirect(f"/timetables?station_id={first}" if first else "/timetables")
    flash(answer, message)
    return answer


@router.get("/timetables/{timetable_id}/edit", response_class=HTMLResponse)
def edit(timetable_id: IdPath, request: Request, session: SessionDep,
         user: SchedulerPage) -> HTMLResponse:
    """The editor filled with a timetable."""
    timetable = service.get(session=session, timetable_id=timetable_id, user=user)
    return _editor(request, session, user, TimetableForm.of(timetable, session),
                   timetable=timetable)


@router.post("/timetables/{timetable_id}", response_class=HTMLResponse)
def update(timetable_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
           user: SchedulerPage, form: PostedForm) -> Response:
    """Change a timetable; its future slots are re-planned at once."""
    try:
        timetable = service.get(session=session, timetable_id=timetable_id, user=user)
        change: dict[str, Any] = {
            "bulletin_id": form.content()[0], "programme_id": form.content()[1],
            "station_ids": form.station_ids, "group_ids": form.group_ids,
            "recurrence": form.recurrence(), "until": form.until_at(),
            "priority": Priority(form.priority), "displace": form.displace}
        # an unchanged start is not sent: a one-off already under way may still be edited
        if form.starts_at().isoformat() != timetable.starts_at_local:
            change["starts_at"] = form.starts_at()
        body = TimetableUpdate(**change)
        timetable = scheduling.update(session=session, timetable_id=timetable_id,
                                      change=body, by=user,
                                      default_zone=runtime.settings.timezone,
                                      horizon=runtime.horizon,
                                      lookahead=runtime.lookahead)
    except (DomainError, ValidationError) as exc:
        return _refused(request, session, user, form, exc, timetable_id)
    audit.record(session=session, actor=actor(request, user), action="timetable.update",
                 target_type="timetable", target_id=timetable.id,
                 **body.model_dump(mode="json", exclude_unset=True))
    return _saved(timetable, N_("Timetable saved."))


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
