"""report tallies: the ledger's additive report figures kept per station and tally month,
and the triggers that mark a station's kept rows stale when its old playbacks change

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_BUMP = ("INSERT INTO report_tally_stations (station_id, generation) VALUES ({sid}, 1) "
         "ON CONFLICT (station_id) DO UPDATE SET generation = "
         "report_tally_stations.generation + 1")
_BUMP_ALL = ("INSERT INTO report_tally_stations (station_id, generation) "
             "SELECT id, 1 FROM stations WHERE true "  # WHERE: SQLite's upsert after a SELECT
             "ON CONFLICT (station_id) DO UPDATE SET generation = "
             "report_tally_stations.generation + 1")
_RECATEGORISED = ("OLD.language IS NOT NEW.language OR OLD.category IS NOT NEW.category "
                  "OR OLD.topic IS NOT NEW.topic")

# A row trigger that costs one look at the one-row horizon and a comparison for the slots at
# or after it: today's plans, the events about them, emergencies.
_POSTGRES = [
    f"""CREATE FUNCTION report_tally_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    edge timestamptz;
BEGIN
    SELECT before INTO edge FROM report_tally_horizon LIMIT 1;
    IF edge IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.scheduled_at < edge THEN
        {_BUMP.format(sid="OLD.station_id")};
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.scheduled_at < edge
            AND (TG_OP = 'INSERT' OR OLD.scheduled_at >= edge
                 OR OLD.station_id <> NEW.station_id) THEN
        {_BUMP.format(sid="NEW.station_id")};
    END IF;
    RETURN NULL;
END $$""",
    # A new row is looked at only when its slot has passed: the horizon is never later than
    # the clock was when it was set, and a writer older than that is waited for by the fill.
    # So planning and emergencies, whose rows are all to come, call no function at all (an
    # emergency's POST to 1,000 stations was about 40 ms slower with the call on every row).
    """CREATE TRIGGER report_tally_playback_insert AFTER INSERT ON playbacks
    FOR EACH ROW WHEN (NEW.scheduled_at < clock_timestamp())
    EXECUTE FUNCTION report_tally_bump()""",
    """CREATE TRIGGER report_tally_playbacks AFTER UPDATE OR DELETE ON playbacks
    FOR EACH ROW EXECUTE FUNCTION report_tally_bump()""",
    f"""CREATE FUNCTION report_tally_bump_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_BUMP_ALL};
    RETURN NULL;
END $$""",
    f"""CREATE TRIGGER report_tally_bulletins AFTER UPDATE OF language, category, topic
    ON bulletins FOR EACH ROW
    WHEN ({_RECATEGORISED.replace("IS NOT", "IS DISTINCT FROM")})
    EXECUTE FUNCTION report_tally_bump_all()""",
]

# SQLite keeps instants as text of one width ("2026-06-15 17:00:00.000000", see
# db.UtcDateTime), so comparing the texts compares the instants.
_EDGE = "(SELECT before FROM report_tally_horizon LIMIT 1)"
_SQLITE = [
    f"""CREATE TRIGGER report_tally_playback_insert AFTER INSERT ON playbacks
    WHEN NEW.scheduled_at < {_EDGE}
    BEGIN {_BUMP.format(sid="NEW.station_id")}; END""",
    f"""CREATE TRIGGER report_tally_playback_delete AFTER DELETE ON playbacks
    WHEN OLD.scheduled_at < {_EDGE}
    BEGIN {_BUMP.format(sid="OLD.station_id")}; END""",
    f"""CREATE TRIGGER report_tally_playback_update AFTER UPDATE ON playbacks
    WHEN OLD.scheduled_at < {_EDGE} OR NEW.scheduled_at < {_EDGE}
    BEGIN
        INSERT INTO report_tally_stations (station_id, generation)
            SELECT OLD.station_id, 1 WHERE OLD.scheduled_at < {_EDGE}
            ON CONFLICT (station_id) DO UPDATE SET
            generation = report_tally_stations.generation + 1;
        INSERT INTO report_tally_stations (station_id, generation)
            SELECT NEW.station_id, 1 WHERE NEW.scheduled_at < {_EDGE}
                AND (OLD.scheduled_at >= {_EDGE} OR OLD.station_id <> NEW.station_id)
            ON CONFLICT (station_id) DO UPDATE SET
            generation = report_tally_stations.generation + 1;
    END""",
    f"""CREATE TRIGGER report_tally_bulletins AFTER UPDATE OF language, category, topic
    ON bulletins WHEN {_RECATEGORISED}
    BEGIN {_BUMP_ALL}; END""",
]


def _tally_table(name: str, *columns: sa.Column[object]) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("month_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_index(f"ix_{name}_station", name, ["station_id", "month_start"])


def upgrade() -> None:
    op.create_table(
        "report_tally_horizon",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("cutoff_day", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_tally_horizon")),
    )
    op.create_table(
        "report_tally_stations",
        sa.Column("station_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_report_tally_stations")),
    )
    op.create_table(
        "report_tally_kept",
        sa.Column("station_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("before", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_report_tally_kept")),
    )
    _tally_table("report_tally_counted",
                 sa.Column("status", sa.String(length=16), nullable=False),
                 sa.Column("n", sa.Integer(), nullable=False),
                 sa.Column("emergencies", sa.Integer(), nullable=False),
                 sa.Column("seconds", sa.Double(), nullable=False))
    _tally_table("report_tally_on_air",
                 sa.Column("language", sa.String(length=35), nullable=False),
                 sa.Column("category", sa.String(length=64), nullable=False),
                 sa.Column("topic", sa.String(length=64), nullable=False),
                 sa.Column("seconds", sa.Double(), nullable=False))
    _tally_table("report_tally_not_played",
                 sa.Column("reason", sa.String(length=500), nullable=False),
                 sa.Column("n", sa.Integer(), nullable=False))
    for statement in _POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER report_tally_bulletins ON bulletins")
        op.execute("DROP TRIGGER report_tally_playbacks ON playbacks")
        op.execute("DROP TRIGGER report_tally_playback_insert ON playbacks")
        op.execute("DROP FUNCTION report_tally_bump_all()")
        op.execute("DROP FUNCTION report_tally_bump()")
    else:
        for name in ("bulletins", "playback_insert", "playback_delete", "playback_update"):
            op.execute(f"DROP TRIGGER report_tally_{name}")
    for table in ("report_tally_not_played", "report_tally_on_air", "report_tally_counted",
                  "report_tally_kept", "report_tally_stations", "report_tally_horizon"):
        op.drop_table(table)
