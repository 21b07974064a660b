"""in_list: many ids in one parameter on PostgreSQL, an IN list elsewhere; same answers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from scheduler.db import Database, in_list
from scheduler.playbacks.models import PlaybackEvent
from scheduler.stations.models import Station

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def test_in_list_finds_what_an_in_list_finds(db: Database) -> None:
    with db.session() as session:
        stations = [Station(name=f"S{n}", ward="P1", timezone="Asia/Ho_Chi_Minh",
                            created_at=NOW) for n in range(600)]
        session.add_all(stations)
        session.flush()
        ids = [s.id for s in stations]
        wanted = ids[::3] + [2**40, 0, -5]  # too large for the column, or no such row
        found = session.scalars(select(Station.id).where(in_list(session, Station.id, wanted)))
        assert sorted(found) == sorted(ids[::3])
        assert list(session.scalars(select(PlaybackEvent.id).where(
            in_list(session, PlaybackEvent.event_id, ["a" * 32, "b" * 32])))) == []
        statement = str(select(Station.id).where(in_list(session, Station.id, ids)).compile(
            session.get_bind()))
    if db.engine.dialect.name == "postgresql":
        # one parameter, not 600, joined (hashed) rather than tested element by element
        assert "unnest" in statement and statement.count("%(") == 1


def test_plans_are_built_with_plans_made_for_their_values(db: Database) -> None:
    """A push's chunk queries are planned with their ids, never by a blind generic plan."""
    from datetime import timedelta

    from sqlalchemy import text

    from scheduler.dispatch.plans import build_plans

    with db.session() as session:
        stations = [Station(name=f"P{n}", ward="P1", timezone="Asia/Ho_Chi_Minh",
                            created_at=NOW) for n in range(3)]
        session.add_all(stations)
        session.flush()
        plans = dict(build_plans(session=session, station_ids=[s.id for s in stations],
                                 now=NOW, late_grace=timedelta(minutes=5),
                                 horizon=timedelta(hours=48)))
        assert sorted(plans) == sorted(s.id for s in stations)
        assert {p.revision for p in plans.values()} == {1}
        if db.engine.dialect.name == "postgresql":
            mode = session.execute(text("SHOW plan_cache_mode")).scalar()
            assert mode == "force_custom_plan"
