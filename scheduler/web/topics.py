"""Pages: the topics and sources lists (admins): add, rename, deactivate or use again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from scheduler.catalogue import seeds
from scheduler.catalogue import service as catalogue
from scheduler.catalogue.models import CODE_LENGTH, NAME_LENGTH
from scheduler.catalogue.schemas import EntryCreate, EntryUpdate
from scheduler.catalogue.service import Kind
from scheduler.deps import SessionDep, actor
from scheduler.errors import DomainError
from scheduler.http_errors import status_of
from scheduler.web import format as fmt
from scheduler.web.i18n import N_
from scheduler.web.session import CatalogueAdminPage
from scheduler.web.templating import flash, language, redirect, render

router = APIRouter()
Code = Annotated[str, Path(max_length=CODE_LENGTH)]
Name = Annotated[str, Form(max_length=NAME_LENGTH)]
TITLES = {Kind.TOPICS: N_("Topics"), Kind.SOURCES: N_("Sources")}


def _page(request: Request, session: Session, *, error: str | None = None,
          status_code: int = 200, typed: dict[str, str] | None = None) -> HTMLResponse:
    lists = [(kind, TITLES[kind], catalogue.entries(session=session, kind=kind)[0])
             for kind in Kind]
    return render(request, "catalogue/index.html", status_code=status_code, lists=lists,
                  error=error, typed=typed or {}, fallback=seeds.OTHER_TOPIC)


def _refused(request: Request, session: Session, exc: DomainError,
             typed: dict[str, str] | None = None) -> HTMLResponse:
    session.rollback()
    return _page(request, session, error=fmt.in_language(str(exc), lang=language(request)),
                 status_code=status_of(exc), typed=typed)


@router.get("/catalogue", response_class=HTMLResponse)
def lists(request: Request, session: SessionDep, _user: CatalogueAdminPage) -> HTMLResponse:
    """The topics and sources, with forms to change them."""
    return _page(request, session)


@router.post("/catalogue/{kind}", response_class=HTMLResponse)
def add(kind: Kind, request: Request, session: SessionDep, user: CatalogueAdminPage,
        name_vi: Name, name_en: Name = "",
        code: Annotated[str, Form(max_length=CODE_LENGTH)] = "") -> Response:
    """Add a topic or a source."""
    try:
        entry = catalogue.create(session=session, kind=kind, actor=actor(request, user),
                                 data=EntryCreate(name_vi=name_vi, name_en=name_en or None,
                                                  code=code or None))
    except DomainError as exc:
        typed = {"kind": kind.value, "name_vi": name_vi, "name_en": name_en, "code": code}
        return _refused(request, session, exc, typed)
    answer = redirect(f"/catalogue#{kind.value}")
    flash(answer, N_("Added: %(name)s."), name=entry.name_vi)
    return answer


@router.post("/catalogue/{kind}/{code}", response_class=HTMLResponse)
def rename(kind: Kind, code: Code, request: Request, session: SessionDep,
           user: CatalogueAdminPage, name_vi: Name, name_en: Name) -> Response:
    """Rename an entry (its code, which bulletins hold, stays)."""
    try:
        entry = catalogue.update(session=session, kind=kind, code=code,
                                 actor=actor(request, user),
                                 change=EntryUpdate(name_vi=name_vi, name_en=name_en or None))
    except DomainError as exc:
        return _refused(request, session, exc)
    answer = redirect(f"/catalogue#{kind.value}")
    flash(answer, N_("Renamed: %(name)s."), name=entry.name_vi)
    return answer


@router.post("/catalogue/{kind}/{code}/active", response_class=HTMLResponse)
def set_active(kind: Kind, code: Code, request: Request, session: SessionDep,
               user: CatalogueAdminPage, active: Annotated[bool, Form()]) -> Response:
    """Stop offering an entry for new bulletins (its bulletins keep it), or offer it again."""
    try:
        entry = catalogue.update(session=session, kind=kind, code=code,
                                 actor=actor(request, user), change=EntryUpdate(active=active))
    except DomainError as exc:
        return _refused(request, session, exc)
    answer = redirect(f"/catalogue#{kind.value}")
    flash(answer, N_("In use again: %(name)s.") if active else N_("No longer in use: %(name)s."),
          name=entry.name_vi)
    return answer
