"""programmes: ordered bulletins with gaps, played as one run

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 13:41:20.123670
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_programmes_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
    )
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_programmes_deleted_at"), ["deleted_at"], unique=False)

    op.create_table(
        "programme_items",
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=False),
        sa.Column("gap_after_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bulletin_id"], ["bulletins.id"], name=op.f("fk_programme_items_bulletin_id_bulletins")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_programme_items_programme_id_programmes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("programme_id", "position", name=op.f("pk_programme_items")),
    )
    with op.batch_alter_table("programme_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_programme_items_bulletin_id"), ["bulletin_id"], unique=False
        )

    with op.batch_alter_table("playbacks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("programme_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("programme_position", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("programme_run_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_playbacks_programme_id"), ["programme_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_playbacks_programme_id_programmes"),
            "programmes",
            ["programme_id"],
            ["id"],
        )

    with op.batch_alter_table("timetables", schema=None) as batch_op:
        batch_op.add_column(sa.Column("programme_id", sa.Integer(), nullable=True))
        batch_op.alter_column("bulletin_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_timetables_programme_id"), ["programme_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_timetables_programme_id_programmes"),
            "programmes",
            ["programme_id"],
            ["id"],
        )

    op.create_table(
        "timetable_groups",
        sa.Column("timetable_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["station_groups.id"],
            name=op.f("fk_timetable_groups_group_id_station_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["timetable_id"],
            ["timetables.id"],
            name=op.f("fk_timetable_groups_timetable_id_timetables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("timetable_id", "group_id", name=op.f("pk_timetable_groups")),
    )
    with op.batch_alter_table("timetable_stations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("direct", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("timetable_stations", schema=None) as batch_op:
        batch_op.drop_column("direct")

    op.drop_table("timetable_groups")
    with op.batch_alter_table("timetables", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_timetables_programme_id_programmes"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_timetables_programme_id"))
        batch_op.alter_column("bulletin_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("programme_id")

    with op.batch_alter_table("playbacks", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_playbacks_programme_id_programmes"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_playbacks_programme_id"))
        batch_op.drop_column("programme_run_at")
        batch_op.drop_column("programme_position")
        batch_op.drop_column("programme_id")

    with op.batch_alter_table("programme_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programme_items_bulletin_id"))

    op.drop_table("programme_items")
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programmes_deleted_at"))

    op.drop_table("programmes")
