"""The kept tallies' tables; the triggers that mark them stale live in migration 0021."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db import Base, UtcDateTime


class Horizon(Base):
    """One row: every tally month kept ends at or before `before`, in this zone and cut-off.

    The playbacks' triggers compare each row's slot with `before`; no row means nothing is
    kept yet, and the comparison with NULL is never true.
    """

    __tablename__ = "report_tally_horizon"

    id: Mapped[int] = mapped_column(primary_key=True)
    before: Mapped[datetime] = mapped_column(UtcDateTime())
    timezone: Mapped[str] = mapped_column(String(64))
    cutoff_day: Mapped[int]


class Generation(Base):
    """How often a station's playbacks before the horizon changed (written by triggers only).

    No foreign key: a station's deletion cascades to its playbacks, whose triggers write here.
    """

    __tablename__ = "report_tally_stations"

    station_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    generation: Mapped[int]


class Kept(Base):
    """A station's kept months are complete before `before`, as of its `generation`.

    Apart from Generation so that the fill never writes a row the triggers write (on
    PostgreSQL a REPEATABLE READ fill would fail on a row a writer updated meanwhile).
    """

    __tablename__ = "report_tally_kept"

    # no foreign key: its check would lock the station's row FOR KEY SHARE inside the fill's
    # REPEATABLE READ snapshot, which fails on a station updated since (they are, often)
    station_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    generation: Mapped[int]
    before: Mapped[datetime] = mapped_column(UtcDateTime())


# The three tally tables have no foreign key to stations either: checking one for each of a
# million rows written doubled the fill's time. A deleted station's rows are never read (the
# report joins the stations) and the fill deletes them.


class KeptCounted(Base):
    """tallies.Counted of one station and tally month."""

    __tablename__ = "report_tally_counted"
    __table_args__ = (Index("ix_report_tally_counted_station", "station_id", "month_start"),
                      Index("ix_report_tally_counted_month", "month_start"))

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int]  # no foreign key (see above)
    month_start: Mapped[datetime] = mapped_column(UtcDateTime())
    generation: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    n: Mapped[int]
    emergencies: Mapped[int]
    seconds: Mapped[float]


class KeptOnAir(Base):
    """tallies.OnAir of one station and tally month."""

    __tablename__ = "report_tally_on_air"
    __table_args__ = (Index("ix_report_tally_on_air_station", "station_id", "month_start"),
                      Index("ix_report_tally_on_air_month", "month_start"))

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int]  # no foreign key (see above)
    month_start: Mapped[datetime] = mapped_column(UtcDateTime())
    generation: Mapped[int]
    language: Mapped[str] = mapped_column(String(35))
    category: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64))
    seconds: Mapped[float]


class KeptNotPlayed(Base):
    """A station's missed and failed playbacks of one tally month by tallies.reason_key."""

    __tablename__ = "report_tally_not_played"
    __table_args__ = (Index("ix_report_tally_not_played_station", "station_id", "month_start"),
                      Index("ix_report_tally_not_played_month", "month_start"))

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int]  # no foreign key (see above)
    month_start: Mapped[datetime] = mapped_column(UtcDateTime())
    generation: Mapped[int]
    reason: Mapped[str] = mapped_column(String(500))
    n: Mapped[int]


class KeptBulletins(Base):
    """How many bulletins went on air at a station in a tally month, by when each had last
    aired there before the month (`prev_at`; NULL: never). Distinct counts do not add up;
    these do, for the months whose `prev_at` is before a period's start."""

    __tablename__ = "report_tally_bulletins"
    __table_args__ = (Index("ix_report_tally_bulletins_station", "station_id", "month_start"),
                      Index("ix_report_tally_bulletins_month", "month_start"))

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int]  # no foreign key (see above)
    month_start: Mapped[datetime] = mapped_column(UtcDateTime())
    generation: Mapped[int]
    prev_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    n: Mapped[int]


class Scope(Base):
    """A ward (or, with no ward, the city) whose bulletins' tally months are kept, complete
    before `before` for the stations and generations `signature` sums up."""

    __tablename__ = "report_tally_scopes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ward: Mapped[str | None] = mapped_column(String(120))
    signature: Mapped[str] = mapped_column(String(64))
    before: Mapped[datetime] = mapped_column(UtcDateTime())


class ScopeBulletins(Base):
    """KeptBulletins of a ward or of the city: last aired at any of its stations."""

    __tablename__ = "report_tally_scope_bulletins"
    __table_args__ = (Index("ix_report_tally_scope_bulletins_scope", "scope_id", "month_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_id: Mapped[int] = mapped_column(ForeignKey("report_tally_scopes.id",
                                                     ondelete="CASCADE"))
    month_start: Mapped[datetime] = mapped_column(UtcDateTime())
    prev_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    n: Mapped[int]


class KeptUptime(Base):
    """A station's online time in a tally month (segments.Segment), clipped to the month and
    to its registration; no row for a month it was never online in."""

    __tablename__ = "report_tally_uptime"
    __table_args__ = (Index("ix_report_tally_uptime_station", "station_id", "month_start"),
                      Index("ix_report_tally_uptime_month", "month_start"))

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int]  # no foreign key (see above)
    month_start: Mapped[datetime] = mapped_column(UtcDateTime())
    generation: Mapped[int]
    online: Mapped[float]
    first_on: Mapped[datetime] = mapped_column(UtcDateTime())
    last_off: Mapped[datetime] = mapped_column(UtcDateTime())
    gap_start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    gap_end: Mapped[datetime | None] = mapped_column(UtcDateTime())
