"""report tallies: distinct bulletins and online time kept per tally month

Revision ID: 0022
Revises: 0021

Distinct bulletins do not add up month by month. Kept instead, per station (and per ward and
for the city): how many bulletins of a tally month had last aired there before the month at
each instant (`prev_at`, NULL for never). A period's distinct bulletins are then each month's
whose `prev_at` is before the period began. The bulletin-led index becomes
(bulletin_id, station_id, scheduled_at): it still finds a bulletin's playbacks, and now also
whether one station (or ward) aired it within a range, which the live edges ask.

Online time is kept per station and month as what segments.Segment holds. A station's kept
months go stale (its generation, as in 0021) when a spell changes before the horizon, or its
registration time does (its months are clipped to it). Closing a spell that was open at the
horizon changes nothing before it, and bumps nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


_BUMP = ("INSERT INTO report_tally_stations (station_id, generation) VALUES ({sid}, 1) "
         "ON CONFLICT (station_id) DO UPDATE SET generation = "
         "report_tally_stations.generation + 1")
_POSTGRES = [
    f"""CREATE FUNCTION report_tally_spell_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    edge timestamptz;
BEGIN
    SELECT before INTO edge FROM report_tally_horizon LIMIT 1;
    IF edge IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.station_id = NEW.station_id
            AND OLD.online_from = NEW.online_from
            AND least(coalesce(OLD.online_until, 'infinity'), edge)
                = least(coalesce(NEW.online_until, 'infinity'), edge) THEN
        RETURN NULL;  -- nothing before the horizon changed (a spell closed after it)
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.online_from < edge THEN
        {_BUMP.format(sid="OLD.station_id")};
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.online_from < edge
            AND (TG_OP = 'INSERT' OR OLD.online_from >= edge
                 OR OLD.station_id <> NEW.station_id) THEN
        {_BUMP.format(sid="NEW.station_id")};
    END IF;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER report_tally_spells AFTER INSERT OR UPDATE OR DELETE ON station_spells
    FOR EACH ROW EXECUTE FUNCTION report_tally_spell_bump()""",
    f"""CREATE FUNCTION report_tally_registered_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_BUMP.format(sid="NEW.id")};
    RETURN NULL;
END $$""",
    """CREATE TRIGGER report_tally_registered AFTER UPDATE OF created_at ON stations
    FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION report_tally_registered_bump()""",
]
_EDGE = "(SELECT before FROM report_tally_horizon LIMIT 1)"
_UNTIL = "min(coalesce({row}.online_until, '9999'), " + _EDGE + ")"  # instants are text
_SQLITE = [
    f"""CREATE TRIGGER report_tally_spell_insert AFTER INSERT ON station_spells
    WHEN NEW.online_from < {_EDGE}
    BEGIN {_BUMP.format(sid="NEW.station_id")}; END""",
    f"""CREATE TRIGGER report_tally_spell_delete AFTER DELETE ON station_spells
    WHEN OLD.online_from < {_EDGE}
    BEGIN {_BUMP.format(sid="OLD.station_id")}; END""",
    f"""CREATE TRIGGER report_tally_spell_update AFTER UPDATE ON station_spells
    WHEN (OLD.online_from < {_EDGE} OR NEW.online_from < {_EDGE})
        AND (OLD.station_id <> NEW.station_id OR OLD.online_from <> NEW.online_from
             OR {_UNTIL.format(row="OLD")} <> {_UNTIL.format(row="NEW")})
    BEGIN
        INSERT INTO report_tally_stations (station_id, generation)
            SELECT OLD.station_id, 1 WHERE OLD.online_from < {_EDGE}
            ON CONFLICT (station_id) DO UPDATE SET
            generation = report_tally_stations.generation + 1;
        INSERT INTO report_tally_stations (station_id, generation)
            SELECT NEW.station_id, 1 WHERE NEW.online_from < {_EDGE}
                AND (OLD.online_from >= {_EDGE} OR OLD.station_id <> NEW.station_id)
            ON CONFLICT (station_id) DO UPDATE SET
            generation = report_tally_stations.generation + 1;
    END""",
    f"""CREATE TRIGGER report_tally_registered AFTER UPDATE OF created_at ON stations
    WHEN OLD.created_at IS NOT NEW.created_at
    BEGIN {_BUMP.format(sid="NEW.id")}; END""",
]


_BY_MONTH = ("report_tally_counted", "report_tally_on_air", "report_tally_not_played",
             "report_tally_bulletins", "report_tally_uptime")


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
    op.create_table(
        "report_tally_uptime",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("month_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("online", sa.Double(), nullable=False),
        sa.Column("first_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_off", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gap_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gap_end", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_tally_uptime")),
    )
    op.create_index("ix_report_tally_uptime_station", "report_tally_uptime",
                    ["station_id", "month_start"])
    for statement in _POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)
    # a report reads its period's months of every station: the months of the period before
    # (often none kept) are found without reading the whole table
    for table in _BY_MONTH:
        op.create_index(f"ix_{table}_month", table, ["month_start"])
    op.drop_index("ix_playbacks_bulletin_id", table_name="playbacks")
    op.create_index("ix_playbacks_bulletin_station", "playbacks",
                    ["bulletin_id", "station_id", "scheduled_at"], postgresql_include=["status"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER report_tally_registered ON stations")
        op.execute("DROP TRIGGER report_tally_spells ON station_spells")
        op.execute("DROP FUNCTION report_tally_registered_bump()")
        op.execute("DROP FUNCTION report_tally_spell_bump()")
    else:
        for name in ("registered", "spell_insert", "spell_delete", "spell_update"):
            op.execute(f"DROP TRIGGER report_tally_{name}")
    op.drop_table("report_tally_uptime")
    op.drop_index("ix_playbacks_bulletin_station", table_name="playbacks")
    op.create_index("ix_playbacks_bulletin_id", "playbacks", ["bulletin_id"])
    for table in _BY_MONTH:
        op.drop_index(f"ix_{table}_month", table_name=table)
    op.drop_table("report_tally_scope_bulletins")
    op.drop_table("report_tally_scopes")
    op.drop_table("report_tally_bulletins")
