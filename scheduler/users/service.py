"""Create users, log them in, resolve bearer tokens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from scheduler import security
from scheduler.errors import Conflict, InvalidInput, NotAuthenticated
from scheduler.users.models import ApiToken, Role, User
from wardcast.protocol import utcnow


def create_user(*, session: Session, username: str, password: str, role: str) -> User:
    """Create a user with a hashed password."""
    try:
        role_value = Role(role)
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise InvalidInput(f"Vai trò không hợp lệ — role must be one of {roles}",
                           field="role") from exc
    if not username or len(username) > 64:
        raise InvalidInput("Tên đăng nhập không hợp lệ — invalid username", field="username")
    if len(password) < 8:
        raise InvalidInput("Mật khẩu phải có ít nhất 8 ký tự — password needs 8+ characters",
                           field="password")
    if session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"Người dùng {username} đã tồn tại — user already exists",
                       field="username")
    user = User(username=username, password_hash=security.hash_password(password),
                role=role_value.value, created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def login(*, session: Session, username: str, password: str, ttl: timedelta) -> str:
    """Check a password and issue a bearer token."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not security.verify_password(user.password_hash,
                                                                        password):
        raise NotAuthenticated("Sai tên đăng nhập hoặc mật khẩu — wrong username or password")
    token = security.new_token("wcu")
    now = utcnow()
    session.execute(delete(ApiToken).where(ApiToken.expires_at < now))
    session.add(ApiToken(user_id=user.id, token_hash=security.token_hash(token),
                         created_at=now, expires_at=now + ttl))
    return token


def user_for_token(*, session: Session, token: str) -> User | None:
    """Return the active user a bearer token belongs to, if it is valid."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == security.token_hash(token)))
    if row is None or row.expires_at < utcnow() or not row.user.active:
        return None
    return row.user
