"""A user's own page preferences (the language)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from scheduler.deps import check_same_origin
from scheduler.users.models import User


def set_language(*, request: Request, session: Session, user: User, lang: str) -> None:
    """Remember the user's page language."""
    check_same_origin(request)
    user.language = lang
    session.add(user)
