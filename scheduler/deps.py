"""FastAPI dependencies: the runtime, a database session, the current user or station."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Scope

from scheduler.audit.service import Actor
from scheduler.context import AppContext
from scheduler.errors import DomainError, Forbidden, NotAuthenticated
from scheduler.http_errors import response
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.unitofwork import unit_of_work
from scheduler.users import service as users
from scheduler.users.models import Role, User

_bearer = HTTPBearer(auto_error=False)
# the web pages' login cookie holds the same kind of token as the Bearer header
SESSION_COOKIE = "wardcast_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(request: Request) -> AppContext:
    """The running scheduler's parts, as the app's wiring put them on the app."""
    runtime: AppContext = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[AppContext, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """One unit of work per request: commit, then push the plans the request changed."""
    accounts = runtime.accounts
    with unit_of_work(runtime.db, runtime.push_plans,
                      accounts.memberships_changed if accounts is not None else None) as session:
        yield session


# scope="function": the session commits before the response is sent. With FastAPI's default
# (since 0.118) it committed after: a client could be told 201 for work a failed commit then
# lost, and a token or a row it had just been given could be missing from its next request.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated("Cần đăng nhập — missing bearer token")
    return credentials.credentials


def check_same_origin(request: Request) -> None:
    """Refuse a cookie-authenticated unsafe request that another site may have started (CSRF)."""
    if request.method in SAFE_METHODS:
        return
    source = request.headers.get("origin") or request.headers.get("referer") or ""
    # the Host header survives reverse proxies; the scheme may not, so only host:port counts
    if not source or urlsplit(source).netloc != request.headers.get("host"):
        raise Forbidden("Yêu cầu không đến từ trang của wardcast — cross-site request refused "
                        "(Origin/Referer does not match)", code="csrf")


def _bearer_or_cookie(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None and request.cookies.get(SESSION_COOKIE):
        check_same_origin(request)
        return request.cookies[SESSION_COOKIE]
    return _token(credentials)


def presented_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    """The token this request was authenticated with (Bearer header or the pages' cookie)."""
    return _bearer_or_cookie(request, credentials)


def current_user(request: Request, session: SessionDep, credentials: Credentials) -> User:
    user = users.user_for_token(session=session, token=_bearer_or_cookie(request, credentials))
    if user is None:
        raise NotAuthenticated("Phiên đăng nhập không hợp lệ hoặc đã hết hạn — "
                               "invalid or expired token")
    return user


def current_station(session: SessionDep, credentials: Credentials,
                    runtime: RuntimeDep) -> Station:
    token = _token(credentials)
    station = stations.by_token(session=session, token=token)
    if station is None:
        raise NotAuthenticated("Mã trạm không hợp lệ — invalid station token")
    if stations.remember_broker_password(station=station, token=token):
        session.commit()  # the broker reads its logins from the database
        if runtime.accounts is not None:
            runtime.accounts.login_known(station.id)
    return station


async def known_user_gate(scope: Scope) -> Response | None:
    """Refuse a request whose token or login cookie is not a valid user's, before its body is
    read (the upload routes' bodies may be hundreds of megabytes)."""
    request = Request(scope)
    scheme, value = get_authorization_scheme_param(request.headers.get("authorization"))
    credentials = (HTTPAuthorizationCredentials(scheme=scheme, credentials=value)
                   if scheme.lower() == "bearer" and value else None)  # as HTTPBearer reads it

    def check() -> None:
        with get_runtime(request).db.session() as session:
            current_user(request, session, credentials)

    try:
        await run_in_threadpool(check)
    except DomainError as exc:
        return response(exc)
    return None


UserDep = Annotated[User, Depends(current_user)]
StationDep = Annotated[Station, Depends(current_station)]


def actor(request: Request, user: User) -> Actor:
    """Who is making this change, and from which address (for the audit log)."""
    host = request.client.host if request.client else None
    return Actor(user_id=user.id, username=user.username, remote_addr=host)


def require(*roles: Role) -> Callable[[User], User]:
    """Return a dependency that lets through only users with one of these roles (or admin)."""
    allowed = {Role.ADMIN, *roles}

    def check(user: UserDep) -> User:
        if user.role_enum not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"Bạn không có quyền thực hiện thao tác này — requires role: {names}")
        return user

    return check


EditorDep = Annotated[User, Depends(require(Role.EDITOR))]
ApproverDep = Annotated[User, Depends(require(Role.APPROVER))]
AdminDep = Annotated[User, Depends(require())]
EditorOrApproverDep = Annotated[User, Depends(require(Role.EDITOR, Role.APPROVER))]


def unlimited_admin(user: AdminDep) -> User:
    """Only an admin of every ward may manage users."""
    if user.wards is not None:
        raise Forbidden("Chỉ quản trị viên toàn hệ thống được quản lý người dùng — "
                        "only an admin not limited to some wards may manage users")
    return user


SuperAdminDep = Annotated[User, Depends(unlimited_admin)]
