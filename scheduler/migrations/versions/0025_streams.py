"""streams: live programmes (VOV, the provincial radio) to relay, probed and watched

Revision ID: 0025_streams
Revises: 0024_bulletins

`name_key` is the name folded (case and diacritics aside), unique. `state` is what the last
probe found (unchecked, ok, silent, unreachable) and `state_since` when it last changed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_streams"
down_revision = "0024_bulletins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "streams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_key", sa.String(length=120), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=True),
        sa.Column("password", sa.String(length=200), nullable=True),
        sa.Column("codec", sa.String(length=32), nullable=True),
        sa.Column("bitrate_kbps", sa.Integer(), nullable=True),
        sa.Column("sample_rate", sa.Integer(), nullable=True),
        sa.Column("channels", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("filler_bulletin_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["filler_bulletin_id"], ["bulletins.id"],
                                name=op.f("fk_streams_filler_bulletin_id_bulletins"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_streams_created_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streams")),
        sa.UniqueConstraint("name_key", name=op.f("uq_streams_name_key")),
    )
    op.create_index(op.f("ix_streams_filler_bulletin_id"), "streams", ["filler_bulletin_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_streams_filler_bulletin_id"), table_name="streams")
    op.drop_table("streams")
