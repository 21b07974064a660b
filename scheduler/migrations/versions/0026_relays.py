"""relays: timetables and playbacks may name a stream and a span instead of a bulletin

Revision ID: 0026_relays
Revises: 0025_streams

`stations.relays`: its agent plays relays. `broadcasts` likewise (bulletin_id nullable,
stream_id, duration_s). `timetables.stream_id` + `duration_s` and
`playbacks.stream_id` + `duration_ms` (a relay's span; a bulletin playback's is its
bulletin's). `playbacks.bulletin_id` becomes nullable: on SQLite that copies the table, which
drops its triggers (the report tallies') and may lose its partial index's WHERE, so both are
written again from what sqlite_master held before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_relays"
down_revision = "0025_streams"
branch_labels = None
depends_on = None


def _kept_sql() -> list[tuple[str, str, str]]:
    """The playbacks table's own indexes and triggers as SQLite holds them."""
    rows = op.get_bind().execute(sa.text(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'playbacks' "
        "AND type IN ('index', 'trigger') AND sql IS NOT NULL")).all()
    return [(str(kind), str(name), str(sql)) for kind, name, sql in rows]


def _alter_playbacks(*, nullable: bool, add: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    kept = _kept_sql() if sqlite else []
    with op.batch_alter_table("playbacks") as batch:
        batch.alter_column("bulletin_id", existing_type=sa.Integer(), nullable=nullable)
        if add:
            batch.add_column(sa.Column("stream_id", sa.Integer(), nullable=True))
            batch.add_column(sa.Column("duration_ms", sa.Integer(), nullable=True))
            batch.create_foreign_key(op.f("fk_playbacks_stream_id_streams"), "streams",
                                     ["stream_id"], ["id"])
        else:
            batch.drop_column("duration_ms")
            batch.drop_column("stream_id")
    for kind, name, sql in kept:
        op.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')
        op.execute(sql)


def upgrade() -> None:
    _alter_playbacks(nullable=True, add=True)
    op.create_index(op.f("ix_playbacks_stream_id"), "playbacks", ["stream_id"])
    # timetables.bulletin_id is nullable already (programmes); no triggers on timetables
    with op.batch_alter_table("timetables") as batch:
        batch.add_column(sa.Column("stream_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("duration_s", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_timetables_stream_id_streams"), "streams",
                                 ["stream_id"], ["id"])
    op.create_index(op.f("ix_timetables_stream_id"), "timetables", ["stream_id"])
    with op.batch_alter_table("broadcasts") as batch:  # no triggers on broadcasts
        batch.alter_column("bulletin_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("stream_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("duration_s", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_broadcasts_stream_id_streams"), "streams",
                                 ["stream_id"], ["id"])
    op.create_index(op.f("ix_broadcasts_stream_id"), "broadcasts", ["stream_id"])
    # what a station's agent last said: it plays relays (FEATURE_RELAY)
    op.add_column("stations", sa.Column("relays", sa.Boolean(), nullable=False,
                                        server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("stations") as batch:
        batch.drop_column("relays")
    op.execute("DELETE FROM playbacks WHERE stream_id IS NOT NULL")
    op.execute("DELETE FROM broadcasts WHERE stream_id IS NOT NULL")
    op.drop_index(op.f("ix_broadcasts_stream_id"), table_name="broadcasts")
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_constraint(op.f("fk_broadcasts_stream_id_streams"), type_="foreignkey")
        batch.drop_column("duration_s")
        batch.drop_column("stream_id")
        batch.alter_column("bulletin_id", existing_type=sa.Integer(), nullable=False)
    op.execute("DELETE FROM timetables WHERE stream_id IS NOT NULL")
    op.drop_index(op.f("ix_timetables_stream_id"), table_name="timetables")
    with op.batch_alter_table("timetables") as batch:
        batch.drop_constraint(op.f("fk_timetables_stream_id_streams"), type_="foreignkey")
        batch.drop_column("duration_s")
        batch.drop_column("stream_id")
    op.drop_index(op.f("ix_playbacks_stream_id"), table_name="playbacks")
    _alter_playbacks(nullable=False, add=False)
