"""groups quiet hours validity

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 11:55:36.848489
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "station_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["station_groups.id"],
            name=op.f("fk_station_groups_parent_id_station_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_station_groups_name")),
    )
    with op.batch_alter_table("station_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_station_groups_parent_id"), ["parent_id"], unique=False
        )

    op.create_table(
        "group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["station_groups.id"],
            name=op.f("fk_group_members_group_id_station_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_group_members_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "station_id", name=op.f("pk_group_members")),
    )
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("valid_until", sa.Date(), nullable=True))

    with op.batch_alter_table("stations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quiet_start", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("quiet_end", sa.Time(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("stations", schema=None) as batch_op:
        batch_op.drop_column("quiet_end")
        batch_op.drop_column("quiet_start")

    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.drop_column("valid_until")
        batch_op.drop_column("valid_from")

    op.drop_table("group_members")
    with op.batch_alter_table("station_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_station_groups_parent_id"))

    op.drop_table("station_groups")
