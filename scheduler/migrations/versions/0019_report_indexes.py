"""playbacks: indexes for the activity report

Revision ID: 0019
Revises: 0018

A report reads a period's playbacks: (scheduled_at, station_id) finds them however many
years the ledger holds. Its distinct bulletins are counted station by station on
(station_id, scheduled_at), which on PostgreSQL now carries the bulletin and the state, so
that those counts read the index alone.
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_playbacks_scheduled_station", "playbacks", ["scheduled_at", "station_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_playbacks_station_scheduled", table_name="playbacks")
        op.create_index("ix_playbacks_station_scheduled", "playbacks",
                        ["station_id", "scheduled_at"],
                        postgresql_include=["bulletin_id", "status"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_playbacks_station_scheduled", table_name="playbacks")
        op.create_index("ix_playbacks_station_scheduled", "playbacks",
                        ["station_id", "scheduled_at"])
    op.drop_index("ix_playbacks_scheduled_station", table_name="playbacks")
