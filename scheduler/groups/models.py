"""A group of stations, possibly inside a parent group, with optional quiet hours."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import Column, ForeignKey, String, Table, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.db import Base, UtcDateTime
from scheduler.stations.models import Station

group_members = Table(
    "group_members",
    Base.metadata,
    Column("group_id", ForeignKey("station_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("station_id", ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True),
)


class StationGroup(Base):
    __tablename__ = "station_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # city | ward | cluster | custom
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("station_groups.id", ondelete="SET NULL"), index=True)
    quiet_start: Mapped[time | None] = mapped_column(Time())
    quiet_end: Mapped[time | None] = mapped_column(Time())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    stations: Mapped[list[Station]] = relationship(secondary=group_members, lazy="selectin")
