"""Users, the wards they are limited to, their tokens, and failed-login bookkeeping."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.db import Base, UtcDateTime


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    APPROVER = "approver"
    VIEWER = "viewer"


class UserWard(Base):
    """A ward a user is limited to; a user with none may act on every ward."""

    __tablename__ = "user_wards"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    ward: Mapped[str] = mapped_column(String(120), primary_key=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # the web pages' language ("vi", "en"); None: Vietnamese
    language: Mapped[str | None] = mapped_column(String(8))

    ward_rows: Mapped[list[UserWard]] = relationship(lazy="selectin",
                                                     cascade="all, delete-orphan")

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def wards(self) -> frozenset[str] | None:
        """The wards this user is limited to, or None for all."""
        return frozenset(w.ward for w in self.ward_rows) or None

    def may_touch(self, ward: str) -> bool:
        limit = self.wards
        return limit is None or ward in limit


class ApiToken(Base):
    """A bearer token (a login session, or a named token for scripts); only its sha256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    user: Mapped[User] = relationship(lazy="joined")


class LoginThrottle(Base):
    """Failed logins per user name and address, to slow down password guessing."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime())
    blocked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
