"""broadcasts fanned out by the broker: playbacks named by broadcast and repeat

Revision ID: 0023
Revises: 0022

A broadcast to groups goes out as one message per group topic before its playbacks are
written; an agent's events then name the playback by broadcast and repeat, and a row that
is not written yet is made from the broadcast (its `targets`, or every station when
`everyone`); `starts_at` is when its first repeat is due (older ones: NULL).
`repeat_index` numbers a station's playbacks of one broadcast (0, 1 …), unique per
broadcast and station; the rows of existing broadcasts are numbered in time order.
`stations.groups_changed_at` says when a station's groups last changed: a station that
joined a group a moment ago may not read its topic yet, so a broadcast sends it its plan
as well; so does a station whose agent has not said it reads group topics at all
(`stations.reads_groups`, from its last plan request: older agents do not).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTER TABLE ADD COLUMN (no batch copy: it would drop the tables' triggers)
    op.add_column("playbacks", sa.Column("repeat_index", sa.Integer(), nullable=True))
    op.execute("""UPDATE playbacks SET repeat_index = (
        SELECT count(*) FROM playbacks AS p WHERE p.broadcast_id = playbacks.broadcast_id
            AND p.station_id = playbacks.station_id
            AND (p.scheduled_at < playbacks.scheduled_at
                 OR (p.scheduled_at = playbacks.scheduled_at AND p.id < playbacks.id)))
        WHERE broadcast_id IS NOT NULL""")
    op.create_index("uq_playbacks_broadcast_repeat", "playbacks",
                    ["broadcast_id", "station_id", "repeat_index"], unique=True)
    op.add_column("broadcasts", sa.Column("targets", sa.Text(), nullable=True))
    op.add_column("broadcasts", sa.Column("starts_at", sa.DateTime(timezone=True),
                                          nullable=True))
    op.add_column("broadcasts", sa.Column("everyone", sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    op.add_column("stations", sa.Column("groups_changed_at", sa.DateTime(timezone=True),
                                        nullable=True))
    op.add_column("stations", sa.Column("reads_groups", sa.Boolean(), nullable=False,
                                        server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("stations") as batch:
        batch.drop_column("groups_changed_at")
        batch.drop_column("reads_groups")
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("everyone")
        batch.drop_column("targets")
        batch.drop_column("starts_at")
    op.drop_index("uq_playbacks_broadcast_repeat", table_name="playbacks")
    with op.batch_alter_table("playbacks") as batch:
        batch.drop_column("repeat_index")
