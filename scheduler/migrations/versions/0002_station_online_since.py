"""stations.online_since; one live playback per slot (cancelled slots may be re-planned)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


LIVE = sa.text("status != 'cancelled'")


def upgrade() -> None:
    with op.batch_alter_table("stations") as batch_op:
        batch_op.add_column(sa.Column("online_since", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("playbacks") as batch_op:
        batch_op.drop_constraint("uq_playbacks_timetable_id", type_="unique")
    op.create_index("uq_playbacks_slot", "playbacks", ["timetable_id", "station_id",
                                                      "scheduled_at"], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    op.drop_index("uq_playbacks_slot", table_name="playbacks")
    with op.batch_alter_table("playbacks") as batch_op:
        batch_op.create_unique_constraint("uq_playbacks_timetable_id",
                                          ["timetable_id", "station_id", "scheduled_at"])
    with op.batch_alter_table("stations") as batch_op:
        batch_op.drop_column("online_since")
