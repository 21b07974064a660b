"""bulletins may be archived: hidden from lists, kept for the playback log

Revision ID: 0024_bulletins
Revises: 0023

A bulletin that has been on air (or is named by a timetable, broadcast or programme) is never
deleted; `archived_at` (and who archived it) hides it from the bulletin lists instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_bulletins"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTER TABLE ADD COLUMN (no batch copy: it would drop the tables' triggers)
    op.add_column("bulletins", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("bulletins", sa.Column("archived_by_id", sa.Integer(), nullable=True))
    op.create_index("ix_bulletins_archived_at", "bulletins", ["archived_at"])


def downgrade() -> None:
    op.drop_index("ix_bulletins_archived_at", table_name="bulletins")
    with op.batch_alter_table("bulletins") as batch:
        batch.drop_column("archived_by_id")
        batch.drop_column("archived_at")
