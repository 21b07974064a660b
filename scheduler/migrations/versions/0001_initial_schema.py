"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 10:55:51.222621
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "playback_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("playback_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clock_offset_ms", sa.Integer(), nullable=True),
        sa.Column("position_ms", sa.Integer(), nullable=True),
        sa.Column("boot_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playback_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_playback_events_event_id")),
    )
    with op.batch_alter_table("playback_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_playback_events_playback_id"), ["playback_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_playback_events_station_id"), ["station_id"], unique=False
        )

    op.create_table(
        "stations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("ward", sa.String(length=120), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("boot_id", sa.String(length=64), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clock_offset_ms", sa.Integer(), nullable=True),
        sa.Column("now_playing_id", sa.Integer(), nullable=True),
        sa.Column("plan_revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
        sa.UniqueConstraint("name", name=op.f("uq_stations_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_stations_token_hash")),
    )
    with op.batch_alter_table("stations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stations_ward"), ["ward"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "bulletins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("loudness_lufs", sa.Double(), nullable=False),
        sa.Column("true_peak_dbtp", sa.Double(), nullable=False),
        sa.Column("source_loudness_lufs", sa.Double(), nullable=False),
        sa.Column("source_duration_ms", sa.Integer(), nullable=False),
        sa.Column("source_format", sa.String(length=64), nullable=False),
        sa.Column("normalization_type", sa.String(length=16), nullable=False),
        sa.Column("original_sha256", sa.String(length=64), nullable=False),
        sa.Column("original_filename", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reject_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_bulletins_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_bulletins_reviewed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletins")),
    )
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulletins_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_bulletins_language"), ["language"], unique=False)
        batch_op.create_index(batch_op.f("ix_bulletins_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_bulletins_status"), ["status"], unique=False)

    op.create_table(
        "timetables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("starts_at_local", sa.String(length=32), nullable=False),
        sa.Column("floating", sa.Boolean(), nullable=False),
        sa.Column("recurrence", sa.Text(), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bulletin_id"], ["bulletins.id"], name=op.f("fk_timetables_bulletin_id_bulletins")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_timetables_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timetables")),
    )
    with op.batch_alter_table("timetables", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_timetables_bulletin_id"), ["bulletin_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_timetables_deleted_at"), ["deleted_at"], unique=False)

    op.create_table(
        "playbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timetable_id", sa.Integer(), nullable=True),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("position_ms", sa.Integer(), nullable=True),
        sa.Column("clock_offset_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bulletin_id"], ["bulletins.id"], name=op.f("fk_playbacks_bulletin_id_bulletins")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_playbacks_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["timetable_id"],
            ["timetables.id"],
            name=op.f("fk_playbacks_timetable_id_timetables"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbacks")),
        sa.UniqueConstraint(
            "timetable_id", "station_id", "scheduled_at", name=op.f("uq_playbacks_timetable_id")
        ),
    )
    with op.batch_alter_table("playbacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_playbacks_bulletin_id"), ["bulletin_id"], unique=False)
        batch_op.create_index(
            "ix_playbacks_station_scheduled", ["station_id", "scheduled_at"], unique=False
        )
        batch_op.create_index(
            "ix_playbacks_status_scheduled", ["status", "scheduled_at"], unique=False
        )

    op.create_table(
        "timetable_stations",
        sa.Column("timetable_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_timetable_stations_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["timetable_id"],
            ["timetables.id"],
            name=op.f("fk_timetable_stations_timetable_id_timetables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("timetable_id", "station_id", name=op.f("pk_timetable_stations")),
    )


def downgrade() -> None:

    op.drop_table("timetable_stations")
    with op.batch_alter_table("playbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_playbacks_status_scheduled")
        batch_op.drop_index("ix_playbacks_station_scheduled")
        batch_op.drop_index(batch_op.f("ix_playbacks_bulletin_id"))

    op.drop_table("playbacks")
    with op.batch_alter_table("timetables", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timetables_deleted_at"))
        batch_op.drop_index(batch_op.f("ix_timetables_bulletin_id"))

    op.drop_table("timetables")
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulletins_status"))
        batch_op.drop_index(batch_op.f("ix_bulletins_sha256"))
        batch_op.drop_index(batch_op.f("ix_bulletins_language"))
        batch_op.drop_index(batch_op.f("ix_bulletins_category"))

    op.drop_table("bulletins")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    with op.batch_alter_table("stations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stations_ward"))

    op.drop_table("stations")
    with op.batch_alter_table("playback_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_playback_events_station_id"))
        batch_op.drop_index(batch_op.f("ix_playback_events_playback_id"))

    op.drop_table("playback_events")
