"""report tallies: distinct bulletins kept per tally month, with when each last aired before

Revision ID: 0022
Revises: 0021

Distinct bulletins do not add up month by month. Kept instead, per station (and per ward and
for the city): how many bulletins of a tally month had last aired there before the month at
each instant (`prev_at`, NULL for never). A period's distinct bulletins are then each month's
whose `prev_at` is before the period began. The bulletin-led index becomes
(bulletin_id, station_id, scheduled_at): it still finds a bulletin's playbacks, and now also
whether one station (or ward) aired it within a range, which the live edges ask.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_tally_bulletins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("month_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("prev_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_tally_bulletins")),
    )
    op.create_index("ix_report_tally_bulletins_station", "report_tally_bulletins",
                    ["station_id", "month_start"])
    op.create_table(
        "report_tally_scopes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ward", sa.String(length=120), nullable=True),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("before", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_tally_scopes")),
    )
    op.create_table(
        "report_tally_scope_bulletins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("month_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["scope_id"], ["report_tally_scopes.id"],
                                name=op.f("fk_report_tally_scope_bulletins_scope_id_"
                                          "report_tally_scopes"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_tally_scope_bulletins")),
    )
    op.create_index("ix_report_tally_scope_bulletins_scope", "report_tally_scope_bulletins",
                    ["scope_id", "month_start"])
    op.drop_index("ix_playbacks_bulletin_id", table_name="playbacks")
    op.create_index("ix_playbacks_bulletin_station", "playbacks",
                    ["bulletin_id", "station_id", "scheduled_at"], postgresql_include=["status"])


def downgrade() -> None:
    op.drop_index("ix_playbacks_bulletin_station", table_name="playbacks")
    op.create_index("ix_playbacks_bulletin_id", "playbacks", ["bulletin_id"])
    op.drop_table("report_tally_scope_bulletins")
    op.drop_table("report_tally_scopes")
    op.drop_table("report_tally_bulletins")
