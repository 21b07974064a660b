"""A ward loudspeaker station and what it last told us about itself."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import ForeignKey, Index, String, Time, false
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db import Base, UtcDateTime


class Station(Base):
    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    ward: Mapped[str] = mapped_column(String(120), index=True)
    timezone: Mapped[str] = mapped_column(String(64))
    # quiet hours in local time (e.g. 21:30–05:30); None: inherit from the station's groups
    quiet_start: Mapped[time | None] = mapped_column(Time())
    quiet_end: Mapped[time | None] = mapped_column(Time())
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # the token hashed as Mosquitto checks it, for the broker `wardcast serve` runs itself
    # (scheduler/broker/passwords.py); None for a token issued before it was kept
    broker_password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # availability, from the agent's retained status, heartbeats and events
    online: Mapped[bool] = mapped_column(default=False)
    # when the current online spell began: reports owed from before it may still be in flight
    online_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    boot_id: Mapped[str | None] = mapped_column(String(64))
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # when its groups last changed: its agent reads a new group's topic once its plan came
    groups_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # its agent said, when it last asked for its plan, that it reads its groups' topics
    reads_groups: Mapped[bool] = mapped_column(default=False, server_default=false())
    # … and that it plays relays (FEATURE_RELAY): only then do its plans hold relay items
    relays: Mapped[bool] = mapped_column(default=False, server_default=false())
    clock_offset_ms: Mapped[int | None]
    clock_uncertainty_ms: Mapped[int | None]  # None: an older agent, which does not say
    now_playing_id: Mapped[int | None]
    plan_revision: Mapped[int] = mapped_column(default=0)


class StationSpell(Base):
    """One stretch of time a station was online: the history availability is computed from.

    Opened when the station comes online; closed when it goes offline, at the last time it
    was heard from (a will reaches us up to 1.5 keepalives after the link died). An open
    spell (online_until None) runs to now.
    """

    __tablename__ = "station_spells"
    __table_args__ = (Index("ix_station_spells_station_from", "station_id", "online_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    online_from: Mapped[datetime] = mapped_column(UtcDateTime())
    online_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
