"""Slow down password guessing: after a few failures, each try must wait longer."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from scheduler.errors import Throttled
from scheduler.users.models import LoginThrottle

FREE_FAILURES = 5
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)


class TooManyAttempts(Throttled):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Đăng nhập sai quá nhiều lần, vui lòng thử lại sau {retry_after} giây "
                         f"— too many failed logins, retry in {retry_after} s",
                         retry_after=retry_after)


def key_for(username: str, remote_addr: str | None) -> str:
    """Count failures per name and address, so a guesser elsewhere cannot lock a clerk out."""
    return f"{username[:64]}@{remote_addr or '-'}"


def check(*, session: Session, key: str, now: datetime) -> None:
    """Refuse a login attempt while the name is blocked."""
    row = session.get(LoginThrottle, key)
    if row is not None and row.blocked_until is not None and row.blocked_until > now:
        raise TooManyAttempts(max(1, int((row.blocked_until - now).total_seconds() + 0.999)))


def failed(*, session: Session, key: str, now: datetime) -> None:
    """Count a failure; past the free ones, block for a delay that doubles each time."""
    row = session.get(LoginThrottle, key)
    if row is None or now - row.last_failure_at > FORGET_AFTER:
        row = row or LoginThrottle(key=key)
        row.failures = 0
        session.add(row)
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= FREE_FAILURES:
        delay = min(MAX_DELAY, timedelta(seconds=2 ** (row.failures - FREE_FAILURES)))
        row.blocked_until = now + delay


def succeeded(*, session: Session, key: str) -> None:
    """Forget the failures of a name that logged in."""
    row = session.get(LoginThrottle, key)
    if row is not None:
        session.delete(row)
