"""Pages: the admin's users page — accounts, roles, ward limits, passwords — and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.deps import SessionDep, actor
from scheduler.errors import DomainError, Forbidden
from scheduler.http_errors import status_of
from scheduler.ids import IdPath, Offset
from scheduler.stations import service as stations
from scheduler.users import accounts
from scheduler.users import service as users
from scheduler.users.models import Role, User
from scheduler.web import auditwords
from scheduler.web import format as fmt
from scheduler.web.i18n import N_, gettext
from scheduler.web.paging import Pager
from scheduler.web.session import PageUser, can
from scheduler.web.templating import flash, language, redirect, render

router = APIRouter()
AUDIT_PAGE = 20
Wards = Annotated[list[str], Form(max_length=500)]
Password = Annotated[str, Form(max_length=200)]


def users_admin(user: PageUser) -> User:
    """Only an admin of every ward manages users (as the API: deps.unlimited_admin)."""
    if not can(user, "manage_stations") or user.wards is not None:
        raise Forbidden("Bạn không có quyền mở trang này — your role does not allow this "
                        "page", code="forbidden")
    return user


UsersAdminPage = Annotated[User, Depends(users_admin)]


def _page(request: Request, session: Session, me: User, *, offset: int = 0,
          status_code: int = 200, **context: Any) -> HTMLResponse:
    rows = users.by_name(session=session)
    events, total = audit.listing(session=session, limit=AUDIT_PAGE, offset=offset)
    return render(request, "users/index.html", status_code=status_code, rows=rows,
                  me=me, roles=[r.value for r in Role], wards=stations.wards(session=session),
                  logins=users.last_logins(session=session),
                  entries=auditwords.entries(session, events, language(request)),
                  pager=Pager(path="/users", filters={}, total=total, offset=offset,
                              limit=AUDIT_PAGE),
                  **{"error": None, "secret": None, "typed": {}} | context)


def _refused(request: Request, session: Session, me: User, exc: DomainError,
             typed: dict[str, Any] | None = None) -> HTMLResponse:
    session.rollback()  # nothing half-saved: the change and its audit row go together
    return _page(request, session, me, status_code=status_of(exc), typed=typed or {},
                 error=fmt.in_language(str(exc), lang=language(request)))


def _known_wards(session: Session, user: User | None = None) -> set[str]:
    """Wards one may limit a user to: those with a station, and the user's own already."""
    return set(stations.wards(session=session)) | set(user.wards or () if user else ())


@router.get("/users", response_class=HTMLResponse)
def listing(request: Request, session: SessionDep, me: UsersAdminPage,
            offset: Offset = 0) -> HTMLResponse:
    """The accounts by name, a form to add one, and the audit log."""
    return _page(request, session, me, offset=offset)


@router.post("/users", response_class=HTMLResponse)
def create(request: Request, session: SessionDep, me: UsersAdminPage,
           username: Annotated[str, Form(max_length=64)], role: Annotated[str, Form(max_length=16)],
           password: Password = "", wards: Wards = []) -> Response:  # noqa: B006 - FastAPI copies it
    """Create an account; with no password given, one is made up and shown once."""
    chosen = password or accounts.new_password()
    try:
        limits = accounts.check_wards(wards, known=_known_wards(session))
        user = accounts.create(session=session, actor=actor(request, me), username=username,
                               password=chosen, role=role, wards=limits)
    except DomainError as exc:
        typed = {"username": username, "role": role, "wards": wards}
        return _refused(request, session, me, exc, typed)
    return _page(request, session, me, status_code=201,
                 secret={"username": user.username, "password": None if password else chosen,
                         "created": True})


@router.post("/users/{user_id}/role", response_class=HTMLResponse)
def change_role(user_id: IdPath, request: Request, session: SessionDep, me: UsersAdminPage,
                role: Annotated[str, Form(max_length=16)]) -> Response:
    """Give an account another role."""
    try:
        user = accounts.update(session=session, actor=actor(request, me), user_id=user_id,
                               role=role)
    except DomainError as exc:
        return _refused(request, session, me, exc)
    return _done(N_("%(name)s is now: %(role)s."), name=user.username,
                 role=gettext(language(request), user.role))


@router.post("/users/{user_id}/wards", response_class=HTMLResponse)
def set_wards(user_id: IdPath, request: Request, session: SessionDep, me: UsersAdminPage,
              wards: Wards = []) -> Response:  # noqa: B006 - FastAPI copies it
    """Limit an account to some wards (none ticked: every ward)."""
    try:
        user = users.get(session=session, user_id=user_id)
        limits = accounts.check_wards(wards, known=_known_wards(session, user))
        accounts.update(session=session, actor=actor(request, me), user_id=user_id,
                        wards=limits)
    except DomainError as exc:
        return _refused(request, session, me, exc)
    return _done(N_("Ward limits of %(name)s saved."), name=user.username)


@router.post("/users/{user_id}/active", response_class=HTMLResponse)
def set_active(user_id: IdPath, request: Request, session: SessionDep, me: UsersAdminPage,
               active: Annotated[bool, Form()]) -> Response:
    """Deactivate an account (it can no longer log in; its sessions end) or reactivate it."""
    try:
        user = accounts.update(session=session, actor=actor(request, me), user_id=user_id,
                               active=active)
    except DomainError as exc:
        return _refused(request, session, me, exc)
    return _done(N_("%(name)s can log in again.") if active
                 else N_("%(name)s can no longer log in."), name=user.username)


@router.post("/users/{user_id}/password", response_class=HTMLResponse)
def reset_password(user_id: IdPath, request: Request, session: SessionDep, me: UsersAdminPage,
                   password: Password = "") -> Response:
    """Give an account a new password (typed or made up, shown once); its login sessions and
    API tokens stop working, as with the API."""
    chosen = password or accounts.new_password()
    try:
        user = accounts.update(session=session, actor=actor(request, me), user_id=user_id,
                               password=chosen)
    except DomainError as exc:
        return _refused(request, session, me, exc)
    return _page(request, session, me, secret={"username": user.username, "created": False,
                                               "password": None if password else chosen})


def _done(message: str, **params: str) -> Response:
    answer = redirect("/users")
    flash(answer, message, kind="ok", **params)
    return answer
