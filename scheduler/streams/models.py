"""A stream source: a live programme over the network, probed when saved and watched."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db import Base, UtcDateTime

NAME_LENGTH = 120
URL_LENGTH = 2000
CREDENTIAL_LENGTH = 200
ERROR_LENGTH = 500


class StreamState(StrEnum):
    UNCHECKED = "unchecked"
    OK = "ok"
    SILENT = "silent"
    UNREACHABLE = "unreachable"


class StreamKind(StrEnum):
    RELAY = "relay"  # a programme the city relays (VOV, the province): managed, probed, watched
    LIVE = "live"  # a live session's mount (scheduler/live): made and ended by its session


class Stream(Base):
    """Its address (without credentials), what the last probe found and since when."""

    __tablename__ = "streams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    # the name folded (case and diacritics aside): "VOV1 Thời sự" and "vov1 thoi su" clash
    name_key: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    url: Mapped[str] = mapped_column(String(URL_LENGTH))
    # HTTP basic auth for the server; kept in clear (ffmpeg must send it), never shown
    username: Mapped[str | None] = mapped_column(String(CREDENTIAL_LENGTH))
    password: Mapped[str | None] = mapped_column(String(CREDENTIAL_LENGTH))
    codec: Mapped[str | None] = mapped_column(String(32))
    bitrate_kbps: Mapped[int | None]
    sample_rate: Mapped[int | None]
    channels: Mapped[int | None]
    state: Mapped[str] = mapped_column(String(16), default=StreamState.UNCHECKED.value)
    checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    state_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH))
    # what an agent plays when the stream fails mid-relay (relays come later: only kept now)
    filler_bulletin_id: Mapped[int | None] = mapped_column(
        ForeignKey("bulletins.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # a live session's stream is not listed, probed, watched, changed nor relayed by name:
    # only its session's broadcast plays it
    kind: Mapped[str] = mapped_column(String(16), default=StreamKind.RELAY.value,
                                      server_default=StreamKind.RELAY.value)

    @property
    def has_credentials(self) -> bool:
        return bool(self.username)
