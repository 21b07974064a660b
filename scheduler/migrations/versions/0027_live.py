"""live: live sessions, and the stream kind that hides their mounts from the stream list

Revision ID: 0027_live
Revises: 0026_relays

`streams.kind`: `relay` (a programme the city relays; every stream so far) or `live` (a live
session's mount, made and ended by its session, neither listed nor probed). `live_sessions`:
one row per session, with its mount (unique), the hash of its ingest key, its stream and
broadcast, who started and stopped it and why, and what became of its recording.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_live"
down_revision = "0026_relays"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # every stream so far is a relay's
    op.add_column("streams", sa.Column("kind", sa.String(length=16), nullable=False,
                                       server_default="relay"))
    op.create_table(
        "live_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mount", sa.String(length=80), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("replica", sa.String(length=40), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stop_reason", sa.String(length=32), nullable=True),
        sa.Column("stopped_by_id", sa.Integer(), nullable=True),
        sa.Column("recording_state", sa.String(length=16), nullable=False),
        sa.Column("recording_bulletin_id", sa.Integer(), nullable=True),
        sa.Column("recording_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["stream_id"], ["streams.id"],
                                name=op.f("fk_live_sessions_stream_id_streams")),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"],
                                name=op.f("fk_live_sessions_broadcast_id_broadcasts")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_live_sessions_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["stopped_by_id"], ["users.id"],
                                name=op.f("fk_live_sessions_stopped_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["recording_bulletin_id"], ["bulletins.id"],
                                name=op.f("fk_live_sessions_recording_bulletin_id_bulletins"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_sessions")),
        sa.UniqueConstraint("mount", name=op.f("uq_live_sessions_mount")),
    )
    op.create_index(op.f("ix_live_sessions_stream_id"), "live_sessions", ["stream_id"])
    op.create_index(op.f("ix_live_sessions_broadcast_id"), "live_sessions", ["broadcast_id"])
    op.create_index(op.f("ix_live_sessions_stopped_at"), "live_sessions", ["stopped_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_live_sessions_stopped_at"), table_name="live_sessions")
    op.drop_index(op.f("ix_live_sessions_broadcast_id"), table_name="live_sessions")
    op.drop_index(op.f("ix_live_sessions_stream_id"), table_name="live_sessions")
    op.drop_table("live_sessions")
    # a live session's stream, broadcast and playbacks go with it (as 0026 drops relays)
    op.execute("DELETE FROM playbacks WHERE stream_id IN "
               "(SELECT id FROM streams WHERE kind = 'live')")
    op.execute("DELETE FROM broadcasts WHERE stream_id IN "
               "(SELECT id FROM streams WHERE kind = 'live')")
    op.execute("DELETE FROM streams WHERE kind = 'live'")
    with op.batch_alter_table("streams") as batch:
        batch.drop_column("kind")
