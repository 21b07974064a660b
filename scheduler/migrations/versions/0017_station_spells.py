"""station_spells: when each station was online, for availability over any period

Revision ID: 0017
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "station_spells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("online_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("online_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"],
                                name=op.f("fk_station_spells_station_id_stations"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_spells")),
    )
    op.create_index("ix_station_spells_station_from", "station_spells",
                    ["station_id", "online_from"])
    # the stations online now are online since their current spell began
    op.execute("INSERT INTO station_spells (station_id, online_from) "
               "SELECT id, COALESCE(online_since, last_seen_at, created_at) FROM stations "
               "WHERE online")


def downgrade() -> None:
    op.drop_index("ix_station_spells_station_from", table_name="station_spells")
    op.drop_table("station_spells")
