"""Pages: the stream sources (relays of VOV, the provincial radio) — list, add, change, check
now, delete; and the flags the station dashboard shows for a silent or unreachable stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from scheduler.bulletins import service as bulletins
from scheduler.bulletins.models import BulletinStatus
from scheduler.context import AppContext
from scheduler.deps import RuntimeDep, SessionDep, actor
from scheduler.errors import DomainError
from scheduler.http_errors import status_of
from scheduler.ids import IdPath
from scheduler.streams import probe, service
from scheduler.streams.models import CREDENTIAL_LENGTH, NAME_LENGTH, URL_LENGTH, Stream
from scheduler.streams.schemas import StreamCreate, StreamUpdate
from scheduler.web import format as fmt
from scheduler.web.i18n import N_, gettext
from scheduler.web.session import PageUser, StreamsPage
from scheduler.web.templating import flash, language, redirect, render

router = APIRouter()
STATES = {"ok": N_("Playing well"), "silent": N_("Silent"), "unreachable": N_("Unreachable"),
          "unchecked": N_("Not checked yet")}
FILLERS_SHOWN = 500
Name = Annotated[str, Form(max_length=NAME_LENGTH)]
Url = Annotated[str, Form(max_length=URL_LENGTH)]
Credential = Annotated[str, Form(max_length=CREDENTIAL_LENGTH)]


@dataclass(frozen=True)
class Flag:
    """A stream the dashboard warns about: its name, state in words and since when."""

    stream_id: int
    name: str
    state: str
    since: str


def flags(*, session: Session, lang: str, zone: str) -> list[Flag]:
    """The silent and unreachable streams, in the reader's words and local time."""
    return [Flag(s.id, s.name, gettext(lang, STATES[s.state]),
                 fmt.minute(s.state_since, zone=zone)) for s in service.flagged(session=session)]


def _fillers(session: Session) -> list[tuple[int, str]]:
    """The approved bulletins a stream may fall back on, by title."""
    rows, _ = bulletins.listing(session=session, limit=FILLERS_SHOWN, offset=0,
                                status=BulletinStatus.APPROVED.value, language=None)
    return sorted(((b.id, b.title) for b in rows), key=lambda row: row[1].casefold())


def _context(request: Request, session: Session) -> dict[str, Any]:
    lang = language(request)
    return {"states": {code: gettext(lang, words) for code, words in STATES.items()},
            "fillers": _fillers(session), "typed": {}, "error": None}


def _refused(request: Request, session: Session, exc: DomainError, template: str,
             **context: Any) -> HTMLResponse:
    """The form again with what was typed (not the password) and why it was refused."""
    session.rollback()
    return render(request, template, status_code=status_of(exc),
                  **(_context(request, session) | context
                     | {"error": fmt.in_language(str(exc), lang=language(request))}))


@router.get("/streams", response_class=HTMLResponse)
def streams_page(request: Request, session: SessionDep, _user: PageUser) -> HTMLResponse:
    """Every stream with what its last check found; the form to add one."""
    rows, _ = service.listing(session=session)
    return render(request, "streams/list.html", rows=rows, **_context(request, session))


@router.get("/streams/{stream_id}", response_class=HTMLResponse)
def edit_page(stream_id: IdPath, request: Request, session: SessionDep,
              _user: StreamsPage) -> HTMLResponse:
    """The form to change a stream."""
    stream = service.get(session=session, stream_id=stream_id)
    return render(request, "streams/edit.html", stream=stream, **_context(request, session))


def _filler(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


@router.post("/streams", response_class=HTMLResponse)
def add(request: Request, session: SessionDep, runtime: RuntimeDep, user: StreamsPage,
        name: Name, url: Url, username: Credential = "", password: Credential = "",
        filler_bulletin_id: Annotated[str, Form(max_length=12)] = "",
        allow_unreachable: Annotated[bool, Form()] = False) -> Response:
    """Probe and add a stream."""
    typed = {"name": name, "url": url, "username": username,
             "filler_bulletin_id": filler_bulletin_id, "allow_unreachable": allow_unreachable}
    try:
        data = StreamCreate(name=name, url=url, username=username or None,
                            password=password or None, allow_unreachable=allow_unreachable,
                            filler_bulletin_id=_filler(filler_bulletin_id))
        stream = service.create(session=session, data=data, by=user, actor=actor(request, user),
                                prober=_prober(runtime))
    except (DomainError, ValueError) as exc:
        rows, _ = service.listing(session=session)
        return _refused(request, session, _domain(exc), "streams/list.html", rows=rows,
                        typed=typed)
    return _checked(request, stream, N_("Stream source added: %(name)s (%(state)s)."))


@router.post("/streams/{stream_id}", response_class=HTMLResponse)
def change(stream_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
           user: StreamsPage, name: Name, url: Url, username: Credential = "",
           password: Credential = "",
           filler_bulletin_id: Annotated[str, Form(max_length=12)] = "",
           allow_unreachable: Annotated[bool, Form()] = False) -> Response:
    """Change a stream; a new address or login is probed first."""
    given: dict[str, Any] = {"name": name, "url": url, "username": username,
                             "filler_bulletin_id": _filler(filler_bulletin_id),
                             "allow_unreachable": allow_unreachable}
    if password:  # left empty: the password stays
        given["password"] = password
    try:
        stream = service.update(session=session, stream_id=stream_id, by=user,
                                change=StreamUpdate(**given), actor=actor(request, user),
                                prober=_prober(runtime))
    except (DomainError, ValueError) as exc:
        stream = service.get(session=session, stream_id=stream_id)
        return _refused(request, session, _domain(exc), "streams/edit.html", stream=stream,
                        typed={**given, "filler_bulletin_id": filler_bulletin_id})
    return _checked(request, stream, N_("Stream source saved: %(name)s (%(state)s)."))


@router.post("/streams/{stream_id}/check")
def check_now(stream_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
              user: StreamsPage) -> Response:
    """Probe a stream now and say what was found."""
    stream = service.check(session=session, stream_id=stream_id, actor=actor(request, user),
                           prober=_prober(runtime))
    return _checked(request, stream, N_("Checked %(name)s: %(state)s."))


@router.post("/streams/{stream_id}/delete")
def remove(stream_id: IdPath, request: Request, session: SessionDep,
           user: StreamsPage) -> Response:
    """Delete a stream."""
    name = service.get(session=session, stream_id=stream_id).name
    service.delete(session=session, stream_id=stream_id, by=user, actor=actor(request, user))
    answer = redirect("/streams")
    flash(answer, N_("Stream source deleted: %(name)s."), name=name)
    return answer


def _prober(runtime: AppContext) -> service.Prober:
    return probe.prober(listen_s=runtime.settings.stream_listen_s)


def _checked(request: Request, stream: Stream, message: str) -> Response:
    """Back to the list, saying what the probe found."""
    answer = redirect(f"/streams#stream-{stream.id}")
    flash(answer, message, kind="ok" if stream.state == "ok" else "warn", name=stream.name,
          state=gettext(language(request), STATES[stream.state]))
    return answer


def _domain(exc: Exception) -> DomainError:
    """A form value the API shapes refuse (a name too long) as a page error."""
    if isinstance(exc, DomainError):
        return exc
    return DomainError("Dữ liệu không hợp lệ: kiểm tra tên và địa chỉ — invalid input: check "
                       "the name and the address", code="invalid")
