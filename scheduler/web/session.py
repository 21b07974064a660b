"""Cookie log-in for the pages: who is looking, what their role lets them do, CSRF checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from scheduler.deps import SESSION_COOKIE, SessionDep, check_same_origin
from scheduler.errors import Forbidden, NotAuthenticated
from scheduler.users import service as users
from scheduler.users.models import Role, User

# what each page action needs; an admin may do everything (as in scheduler/deps.require)
PERMISSIONS: dict[str, frozenset[Role]] = {
    "upload": frozenset({Role.EDITOR}),
    "approve": frozenset({Role.APPROVER}),
    "schedule": frozenset({Role.EDITOR}),
    "emergency": frozenset({Role.APPROVER}),
    "manage_stations": frozenset(),
    "manage_catalogue": frozenset(),  # topics and sources
    "regenerate_drafts": frozenset({Role.APPROVER}),  # report drafts, computed again
    "read_reports": frozenset(Role),  # every role today (docs/security.md)
    "control_stations": frozenset({Role.APPROVER}),  # stop, volume, test tone (as the API)
    "manage_streams": frozenset({Role.EDITOR}),  # stream sources (as the API)
}


class LoginRequired(NotAuthenticated):
    """A page needs a logged-in user; the page error handler redirects to /login."""

    code = "login_required"


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page, kept apart from the ORM row so that an error page can still
    show the menu after the request's session was rolled back."""

    id: int
    username: str
    role: str
    language: str | None
    every_ward: bool = True  # False: limited to some wards (the users page is not theirs)

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(id=user.id, username=user.username, role=user.role,
                   language=user.language, every_ward=user.wards is None)


def can(user: User | Viewer | None, action: str) -> bool:
    """Tell whether a user may do a page action (see PERMISSIONS)."""
    if user is None:
        return False
    role = Role(user.role)
    return role is Role.ADMIN or role in PERMISSIONS[action]


def user_from_cookie(request: Request, session: Session) -> User | None:
    """Return the logged-in user of this request, if any, and remember who it is for pages."""
    token = request.cookies.get(SESSION_COOKIE)
    user = users.user_for_token(session=session, token=token) if token else None
    request.state.viewer = Viewer.of(user) if user else None
    return user


def optional_user(request: Request, session: SessionDep) -> User | None:
    return user_from_cookie(request, session)


def page_user(request: Request, session: SessionDep) -> User:
    """The logged-in user; unsafe requests must also come from our own pages (CSRF)."""
    user = user_from_cookie(request, session)
    if user is None:
        raise LoginRequired("Vui lòng đăng nhập — please log in")
    check_same_origin(request)
    return user


PageUser = Annotated[User, Depends(page_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def allowed(action: str) -> Callable[[User], User]:
    """Return a dependency that lets through only users who may do this action."""

    def check(user: PageUser) -> User:
        if not can(user, action):
            raise Forbidden("Bạn không có quyền mở trang này — your role does not allow this "
                            "page", code="forbidden")
        return user

    return check


EditorPage = Annotated[User, Depends(allowed("upload"))]
ApproverPage = Annotated[User, Depends(allowed("approve"))]
SchedulerPage = Annotated[User, Depends(allowed("schedule"))]
EmergencyPage = Annotated[User, Depends(allowed("emergency"))]
AdminPage = Annotated[User, Depends(allowed("manage_stations"))]
CatalogueAdminPage = Annotated[User, Depends(allowed("manage_catalogue"))]
DraftsPage = Annotated[User, Depends(allowed("regenerate_drafts"))]
ReportsPage = Annotated[User, Depends(allowed("read_reports"))]
ControlPage = Annotated[User, Depends(allowed("control_stations"))]
StreamsPage = Annotated[User, Depends(allowed("manage_streams"))]


def log_in(*, request: Request, response: Response, session: Session, ttl: timedelta,
           username: str, password: str) -> None:
    """Check the password (throttled like the API) and set the HttpOnly session cookie."""
    host = request.client.host if request.client else None
    token = users.login(session=session, username=username, password=password, ttl=ttl,
                        remote_addr=host)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(ttl.total_seconds()), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")


def log_out(*, request: Request, response: Response, session: Session) -> None:
    """End the session: the token stops working and the cookie is removed."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        users.logout(session=session, token=token)
    response.delete_cookie(SESSION_COOKIE, path="/")
