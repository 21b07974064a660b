"""Log in; manage users (admins) and one's own API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request, Response
from pydantic import BaseModel, Field

from scheduler.audit import service as audit
from scheduler.deps import (
    Credentials,
    RuntimeDep,
    SessionDep,
    SuperAdminDep,
    UserDep,
    actor,
    presented_token,
)
from scheduler.ids import IdPath, Offset
from scheduler.users import accounts, service
from scheduler.users.models import ApiToken, Role, User

router = APIRouter(tags=["users"])


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserRead(BaseModel):
    id: int
    username: str
    role: str
    active: bool
    wards: list[str] | None
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserRead:
        return cls(id=user.id, username=user.username, role=user.role, active=user.active,
                   wards=sorted(user.wards) if user.wards else None, created_at=user.created_at)


class UserList(BaseModel):
    items: list[UserRead]
    total: int


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=200)
    role: Role
    wards: list[str] = Field(default_factory=list, max_length=500)


class UserUpdate(BaseModel):
    role: Role | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)
    active: bool | None = None
    wards: list[str] | None = Field(default=None, max_length=500)


class ApiTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    days: int = Field(default=365, ge=1, le=3650)


class ApiTokenRead(BaseModel):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


class ApiTokenCreated(ApiTokenRead):
    token: str


class UserTokenRead(BaseModel):
    """A user's token as an admin sees it: what it is, never its secret."""

    id: int
    kind: Literal["session", "api"] = Field(description="a login session (`wcu_`) or a "
                                                        "named token for scripts (`wca_`)")
    name: str | None
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = Field(description="named tokens only, to 5 minutes")

    @classmethod
    def of(cls, row: ApiToken) -> UserTokenRead:
        return cls(id=row.id, kind="session" if row.name is None else "api", name=row.name,
                   created_at=row.created_at, expires_at=row.expires_at,
                   last_used_at=row.last_used_at)


class TokensRevoked(BaseModel):
    revoked: int


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


@router.post("/auth/token")
def token(request: Request, session: SessionDep, runtime: RuntimeDep,
          username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=200)]) -> TokenRead:
    """Exchange a username and password for a bearer token (repeated failures slow down)."""
    ttl = timedelta(hours=runtime.settings.token_ttl_hours)
    host = request.client.host if request.client else None
    access = service.login(session=session, username=username, password=password, ttl=ttl,
                           remote_addr=host)
    return TokenRead(access_token=access, expires_in=int(ttl.total_seconds()))


@router.get("/users/me")
def me(user: UserDep) -> UserRead:
    """Who the token belongs to."""
    return UserRead.of(user)


@router.get("/users")
def listing(session: SessionDep, _admin: SuperAdminDep,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Offset = 0) -> UserList:
    """All users."""
    rows, total = service.listing(session=session, limit=limit, offset=offset)
    return UserList(items=[UserRead.of(u) for u in rows], total=total)


@router.post("/users", status_code=201)
def create(body: UserCreate, request: Request, session: SessionDep,
           admin: SuperAdminDep) -> UserRead:
    """Create a user, optionally limited to some wards."""
    user = accounts.create(session=session, actor=actor(request, admin), username=body.username,
                           password=body.password, role=body.role.value, wards=body.wards)
    return UserRead.of(user)


@router.patch("/users/{user_id}")
def update(user_id: IdPath, body: UserUpdate, request: Request, session: SessionDep,
           admin: SuperAdminDep) -> UserRead:
    """Change a user's role, password, ward limits, or deactivate them; a new password and a
    (de/re)activation revoke every login session and API token the user had. An admin may
    not deactivate themself nor take away the last active admin of every ward (409)."""
    user = accounts.update(session=session, actor=actor(request, admin), user_id=user_id,
                           role=body.role.value if body.role else None, password=body.password,
                           active=body.active, wards=body.wards)
    return UserRead.of(user)


def _token_read(row: object) -> dict[str, object]:
    return {k: getattr(row, k) for k in ("id", "name", "created_at", "expires_at",
                                          "last_used_at")}


@router.get("/users/me/tokens")
def my_tokens(session: SessionDep, user: UserDep) -> list[ApiTokenRead]:
    """Your named API tokens (for scripts)."""
    return [ApiTokenRead.model_validate(_token_read(t))
            for t in service.api_tokens(session=session, user=user)]


@router.post("/users/me/tokens", status_code=201)
def create_token(body: ApiTokenCreate, request: Request, session: SessionDep,
                 user: UserDep) -> ApiTokenCreated:
    """Issue a named API token for a script; it is shown only in this answer."""
    row, secret = service.create_api_token(session=session, user=user, name=body.name,
                                           ttl=timedelta(days=body.days))
    audit.record(session=session, actor=actor(request, user), action="token.create",
                 target_type="api_token", target_id=row.id, name=row.name)
    return ApiTokenCreated(**_token_read(row), token=secret)


@router.delete("/users/me/tokens/{token_id}", status_code=204)
def revoke_token(token_id: IdPath, request: Request, session: SessionDep,
                 user: UserDep) -> Response:
    """Revoke one of your API tokens."""
    service.revoke_api_token(session=session, user=user, token_id=token_id)
    audit.record(session=session, actor=actor(request, user), action="token.revoke",
                 target_type="api_token", target_id=token_id)
    return Response(status_code=204)


@router.post("/users/me/password", status_code=204)
def change_password(body: PasswordChange, request: Request, session: SessionDep,
                    user: UserDep, credentials: Credentials) -> Response:
    """Change your password; your other login sessions and your API tokens stop working."""
    host = request.client.host if request.client else None
    service.change_own_password(session=session, user=user, current=body.current_password,
                                new=body.new_password, remote_addr=host,
                                keep_token=presented_token(request, credentials))
    audit.record(session=session, actor=actor(request, user), action="user.password",
                 target_type="user", target_id=user.id)
    return Response(status_code=204)


@router.get("/users/{user_id}/tokens")
def user_tokens(user_id: IdPath, session: SessionDep,
                _admin: SuperAdminDep) -> list[UserTokenRead]:
    """A user's live login sessions and API tokens (never their secrets)."""
    return [UserTokenRead.of(t) for t in service.live_tokens(session=session, user_id=user_id)]


@router.delete("/users/{user_id}/tokens/{token_id}", status_code=204)
def revoke_user_token(user_id: IdPath, token_id: IdPath, request: Request, session: SessionDep,
                      admin: SuperAdminDep) -> Response:
    """Revoke one of a user's login sessions or API tokens."""
    row = service.revoke_token_of(session=session, user_id=user_id, token_id=token_id)
    audit.record(session=session, actor=actor(request, admin), action="token.revoke",
                 target_type="api_token", target_id=token_id, user_id=user_id, name=row.name)
    return Response(status_code=204)


@router.delete("/users/{user_id}/tokens")
def revoke_user_tokens(user_id: IdPath, request: Request, session: SessionDep,
                       admin: SuperAdminDep) -> TokensRevoked:
    """Revoke every login session and API token of a user (they must log in again)."""
    service.get(session=session, user_id=user_id)
    revoked = service.revoke_tokens(session=session, user_id=user_id)
    audit.record(session=session, actor=actor(request, admin), action="token.revoke_all",
                 target_type="user", target_id=user_id, revoked=revoked)
    return TokensRevoked(revoked=revoked)
