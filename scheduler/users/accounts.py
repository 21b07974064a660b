"""Managing accounts, as the API and the admin's users page both do: checked (an admin keeps
the system manageable), stored and audited in the caller's unit of work."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.audit.service import Actor
from scheduler.errors import Conflict, InvalidInput
from scheduler.users import service
from scheduler.users.models import Role, User

# no 0/O, 1/l/I: an admin may read a generated password out over the phone
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class LastAdmin(Conflict):
    code = "last_admin"


class OwnAccount(Conflict):
    code = "own_account"


def new_password() -> str:
    """Return a random password people can read out: "xxxx-xxxx-xxxx" (about 70 bits)."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3))


def check_wards(wards: Iterable[str], *, known: Collection[str]) -> list[str]:
    """Return the wards, sorted, if each is one of the known ones (wards with a station)."""
    chosen = sorted(set(wards))
    unknown = [w for w in chosen if w not in known]
    if unknown:
        raise InvalidInput(f"Không có phường/xã nào tên {', '.join(unknown)} — no station is "
                           f"in ward {', '.join(unknown)}", field="wards", code="unknown_ward")
    return chosen


def _manages_users(user: User) -> bool:
    return user.active and user.role == Role.ADMIN.value and not user.ward_rows


def _check_keeps_an_admin(*, session: Session, user: User, role: str | None,
                          active: bool | None, wards: list[str] | None) -> None:
    """Refuse a change that would leave no active admin able to manage users."""
    if not _manages_users(user):
        return
    stays = ((role is None or role == Role.ADMIN.value) and active is not False
             and not wards)
    if stays:
        return
    others = session.scalar(select(func.count()).select_from(User).where(
        User.id != user.id, User.active.is_(True), User.role == Role.ADMIN.value,
        ~User.ward_rows.any())) or 0
    if others == 0:
        raise LastAdmin(f"{user.username} là quản trị viên cuối cùng còn hoạt động: hãy cho "
                        f"người khác làm quản trị viên trước — {user.username} is the last "
                        f"active admin: make someone else an admin first",
                        field="user_id")


def create(*, session: Session, actor: Actor, username: str, password: str, role: str,
           wards: Iterable[str] = ()) -> User:
    """Create a user and audit it."""
    wards = sorted(set(wards))
    user = service.create_user(session=session, username=username, password=password,
                               role=role, wards=wards)
    audit.record(session=session, actor=actor, action="user.create", target_type="user",
                 target_id=user.id, username=user.username, role=user.role, wards=wards)
    return user


def update(*, session: Session, actor: Actor, user_id: int, role: str | None = None,
           password: str | None = None, active: bool | None = None,
           wards: list[str] | None = None) -> User:
    """Change a user's role, password, ward limits or active flag, and audit it. An admin may
    not deactivate themself, nor take away the last active admin of every ward."""
    user = service.get(session=session, user_id=user_id)
    if active is False and user.id == actor.user_id and user.active:
        raise OwnAccount("Bạn không thể tự khoá tài khoản của mình — you cannot deactivate "
                         "your own account", field="active")
    _check_keeps_an_admin(session=session, user=user, role=role, active=active, wards=wards)
    user = service.update_user(session=session, user_id=user_id, role=role, password=password,
                               active=active, wards=wards)
    changed: dict[str, object] = {k: v for k, v in (("role", role), ("active", active),
                                                     ("wards", wards)) if v is not None}
    if password is not None:
        changed["password"] = "(changed)"
    audit.record(session=session, actor=actor, action="user.update", target_type="user",
                 target_id=user.id, **changed)
    return user
