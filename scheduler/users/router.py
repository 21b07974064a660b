"""Log in."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form
from pydantic import BaseModel

from scheduler.deps import RuntimeDep, SessionDep, UserDep
from scheduler.users import service

router = APIRouter(tags=["auth"])


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    id: int
    username: str
    role: str


@router.post("/auth/token")
def token(session: SessionDep, runtime: RuntimeDep, username: Annotated[str, Form()],
          password: Annotated[str, Form()]) -> TokenRead:
    """Exchange a username and password for a bearer token."""
    ttl = timedelta(hours=runtime.settings.token_ttl_hours)
    access = service.login(session=session, username=username, password=password, ttl=ttl)
    return TokenRead(access_token=access, expires_in=int(ttl.total_seconds()))


@router.get("/users/me")
def me(user: UserDep) -> Me:
    """Who the token belongs to."""
    return Me(id=user.id, username=user.username, role=user.role)
