"""Create and change users, log them in, issue and resolve bearer tokens."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from scheduler import security
from scheduler.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from scheduler.users import throttle
from scheduler.users.models import ApiToken, Role, User, UserWard
from wardcast.protocol import utcnow

MAX_API_TOKEN_TTL = timedelta(days=3650)


class UserNotFound(NotFound):
    code = "user_not_found"


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise InvalidInput(f"Vai trò không hợp lệ — role must be one of {roles}",
                           field="role") from exc


def _check_password(password: str, *, username: str) -> None:
    """Refuse a weak password: short, the user's own name, or one character repeated."""
    if len(password) < 8:
        raise InvalidInput("Mật khẩu quá yếu: cần ít nhất 8 ký tự — weak password: it needs "
                           "at least 8 characters", field="password", code="weak_password")
    if password.casefold() == username.casefold() or len(set(password)) < 3:
        raise InvalidInput("Mật khẩu quá yếu: không được trùng tên đăng nhập hay lặp một ký "
                           "tự — weak password: it may not be the username or one character "
                           "repeated", field="password", code="weak_password")


def create_user(*, session: Session, username: str, password: str, role: str,
                wards: Iterable[str] = ()) -> User:
    """Create a user with a hashed password, optionally limited to some wards."""
    role_value = _role(role)
    username = username.strip()
    if not username or len(username) > 64:
        raise InvalidInput("Tên đăng nhập không hợp lệ — invalid username", field="username")
    _check_password(password, username=username)
    if session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"Người dùng {username} đã tồn tại — user already exists",
                       field="username")
    user = User(username=username, password_hash=security.hash_password(password),
                role=role_value.value, created_at=utcnow())
    user.ward_rows = [UserWard(ward=w) for w in sorted(set(wards))]
    session.add(user)
    session.flush()
    return user


def update_user(*, session: Session, user_id: int, role: str | None = None,
                password: str | None = None, active: bool | None = None,
                wards: list[str] | None = None) -> User:
    """Change a user's role, password, active flag or ward limits."""
    user = get(session=session, user_id=user_id)
    if role is not None:
        user.role = _role(role).value
    if password is not None:
        _check_password(password, username=user.username)
        user.password_hash = security.hash_password(password)
    flipped = active is not None and active != user.active
    if active is not None:
        user.active = active
    if wards is not None:
        user.ward_rows = [UserWard(ward=w) for w in sorted(set(wards))]
    # A new password or a (de/re)activation ends every way in the old credentials gave:
    # sessions and scripts' tokens alike. A role or ward change does not: tokens carry no
    # rights, each request reads them from the user row.
    if password is not None or flipped:
        revoke_tokens(session=session, user_id=user.id)
    session.flush()
    return user


def change_own_password(*, session: Session, user: User, current: str, new: str,
                        keep_token: str | None, remote_addr: str | None = None) -> None:
    """Change one's own password (the current one is checked and throttled like a login);
    every token but the login session making the change stops working."""
    now = utcnow()
    key = throttle.key_for(user.username, remote_addr)
    throttle.check(session=session, key=key, now=now)
    if not security.verify_password(user.password_hash, current):
        throttle.failed(session=session, key=key, now=now)
        session.commit()  # the failure must count even though the request fails
        raise InvalidInput("Mật khẩu hiện tại không đúng — the current password is wrong",
                           field="current_password", code="wrong_password")
    throttle.succeeded(session=session, key=key)
    _check_password(new, username=user.username)
    user.password_hash = security.hash_password(new)
    kept = security.token_hash(keep_token) if keep_token else None
    revoke_tokens(session=session, user_id=user.id, keep_session=kept)
    session.flush()


def revoke_tokens(*, session: Session, user_id: int, keep_session: str | None = None) -> int:
    """Revoke every token of a user (but the login session with this hash); return how many."""
    query = delete(ApiToken).where(ApiToken.user_id == user_id)
    if keep_session is not None:
        query = query.where(~((ApiToken.token_hash == keep_session) & ApiToken.name.is_(None)))
    result = session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


def get(*, session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"Không tìm thấy người dùng {user_id} — user not found",
                           field="user_id")
    return user


def listing(*, session: Session, limit: int, offset: int) -> tuple[list[User], int]:
    total = session.scalar(select(func.count()).select_from(User)) or 0
    return list(session.scalars(select(User).order_by(User.id).limit(limit).offset(offset))), total


def by_name(*, session: Session) -> list[User]:
    """Return every user, by user name."""
    return list(session.scalars(select(User).order_by(func.lower(User.username), User.id)))


def last_logins(*, session: Session) -> dict[int, datetime]:
    """When each user last logged in, as far as their login sessions still tell (a session
    ended by logging out or by expiry is forgotten)."""
    rows = session.execute(select(ApiToken.user_id, func.max(ApiToken.created_at))
                           .where(ApiToken.name.is_(None)).group_by(ApiToken.user_id))
    return {user_id: at for user_id, at in rows if at is not None}


def login(*, session: Session, username: str, password: str, ttl: timedelta,
          remote_addr: str | None = None) -> str:
    """Check a password (slowing down guessers) and issue a session token."""
    now = utcnow()
    key = throttle.key_for(username, remote_addr)
    throttle.check(session=session, key=key, now=now)
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not security.verify_password(user.password_hash,
                                                                        password):
        throttle.failed(session=session, key=key, now=now)
        session.commit()  # the failure must count even though the request fails
        raise NotAuthenticated("Sai tên đăng nhập hoặc mật khẩu — wrong username or password")
    throttle.succeeded(session=session, key=key)
    session.execute(delete(ApiToken).where(ApiToken.expires_at < now))
    return _issue(session=session, user=user, ttl=ttl, name=None)


def _issue(*, session: Session, user: User, ttl: timedelta, name: str | None) -> str:
    token = security.new_token("wcu" if name is None else "wca")
    now = utcnow()
    session.add(ApiToken(user_id=user.id, token_hash=security.token_hash(token), name=name,
                         created_at=now, expires_at=now + ttl))
    session.flush()
    return token


def create_api_token(*, session: Session, user: User, name: str,
                     ttl: timedelta) -> tuple[ApiToken, str]:
    """Issue a named long-lived token for scripts; it is shown once."""
    if not 1 <= len(name.strip()) <= 120:
        raise InvalidInput("Tên mã truy cập không hợp lệ — token name must be 1–120 characters",
                           field="name")
    token = _issue(session=session, user=user, ttl=min(ttl, MAX_API_TOKEN_TTL),
                   name=name.strip())
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash ==
                                                security.token_hash(token)))
    assert row is not None
    return row, token


def api_tokens(*, session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.name.is_not(None)).order_by(ApiToken.id)))


def live_tokens(*, session: Session, user_id: int) -> list[ApiToken]:
    """Return a user's unexpired tokens, login sessions and named ones, oldest first."""
    get(session=session, user_id=user_id)
    return list(session.scalars(select(ApiToken).where(
        ApiToken.user_id == user_id, ApiToken.expires_at >= utcnow()).order_by(ApiToken.id)))


def revoke_api_token(*, session: Session, user: User, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.name is None:
        raise NotFound(f"Không tìm thấy mã truy cập {token_id} — token not found",
                       field="token_id")
    session.delete(row)


def revoke_token_of(*, session: Session, user_id: int, token_id: int) -> ApiToken:
    """Revoke one token (a login session or a named one) of a user; return what it was."""
    get(session=session, user_id=user_id)
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFound(f"Không tìm thấy mã truy cập {token_id} — token not found",
                       field="token_id")
    session.delete(row)
    return row


def logout(*, session: Session, token: str) -> None:
    """Revoke a login session token (named API tokens are revoked by id instead)."""
    session.execute(delete(ApiToken).where(ApiToken.token_hash == security.token_hash(token),
                                           ApiToken.name.is_(None)))


def user_for_token(*, session: Session, token: str) -> User | None:
    """Return the active user a bearer token belongs to, if it is valid."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == security.token_hash(token)))
    now = utcnow()
    if row is None or row.expires_at < now or not row.user.active:
        return None
    if row.name is not None and (row.last_used_at is None
                                 or now - row.last_used_at > timedelta(minutes=5)):
        row.last_used_at = now
    return row.user
