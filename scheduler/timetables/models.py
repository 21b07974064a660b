"""A timetable: a bulletin, a start, an optional RRULE, and the stations it targets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, String, Table, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.db import Base, UtcDateTime
from scheduler.stations.models import Station

timetable_stations = Table(
    "timetable_stations",
    Base.metadata,
    Column("timetable_id", ForeignKey("timetables.id", ondelete="CASCADE"), primary_key=True),
    Column("station_id", ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True),
    # direct: named in station_ids; otherwise a member of one of the timetable's groups,
    # which leaves the timetable when it leaves the group
    Column("direct", Boolean, nullable=False, server_default=true()),
)

timetable_groups = Table(
    "timetable_groups",
    Base.metadata,
    Column("timetable_id", ForeignKey("timetables.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("station_groups.id", ondelete="CASCADE"), primary_key=True),
)

# A timetable that was let displace another (`displace: true`): where their runs meet, the
# displaced one's end `skipped`, reason `preempted`, for as long as it has the lower priority.
timetable_displacements = Table(
    "timetable_displacements",
    Base.metadata,
    Column("timetable_id", ForeignKey("timetables.id", ondelete="CASCADE"), primary_key=True),
    Column("displaced_id", ForeignKey("timetables.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UtcDateTime(), nullable=False),
)


class Timetable(Base):
    __tablename__ = "timetables"

    id: Mapped[int] = mapped_column(primary_key=True)
    # exactly one of three: a single bulletin, a programme of several, or a stream relayed
    # for `duration_s` seconds
    bulletin_id: Mapped[int | None] = mapped_column(ForeignKey("bulletins.id"), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"), index=True)
    stream_id: Mapped[int | None] = mapped_column(ForeignKey("streams.id"), index=True)
    duration_s: Mapped[int | None]
    # The start as an instant; `floating` means it was given without an offset and is a wall
    # time in each station's own zone (`starts_at_local`).
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    starts_at_local: Mapped[str] = mapped_column(String(32))
    floating: Mapped[bool] = mapped_column(default=False)
    recurrence: Mapped[str | None] = mapped_column(Text)
    until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    priority: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)

    # every station it plays on (written by timetables.service.set_targets)
    stations: Mapped[list[Station]] = relationship(secondary=timetable_stations,
                                                   lazy="selectin", viewonly=True,
                                                   order_by=Station.id)
