"""timetable_displacements: which timetable was let displace which (displace: true)

Revision ID: 0013
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timetable_displacements",
        sa.Column("timetable_id", sa.Integer(), nullable=False),
        sa.Column("displaced_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["timetable_id"], ["timetables.id"],
                                name=op.f("fk_timetable_displacements_timetable_id_timetables"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["displaced_id"], ["timetables.id"],
                                name=op.f("fk_timetable_displacements_displaced_id_timetables"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("timetable_id", "displaced_id",
                                name=op.f("pk_timetable_displacements")),
    )


def downgrade() -> None:
    op.drop_table("timetable_displacements")
