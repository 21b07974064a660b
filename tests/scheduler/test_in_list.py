"""in_list: many ids in one parameter on PostgreSQL, an IN list elsewhere; same answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from scheduler.db import Database, in_list
from scheduler.dispatch.plans import build_plans
from scheduler.playbacks.models import PlaybackEvent
from scheduler.stations.models import Station

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def _stations(session: Session, count: int) -> list[int]:
    """Add count stations; return their ids."""
    stations = [Station(name=f"S{n}", ward="P1", timezone="Asia/Ho_Chi_Minh", created_at=NOW)
                for n in range(count)]
    session.add_all(stations)
    session.flush()
    return [s.id for s in stations]


def test_in_list_finds_what_an_in_list_finds(db: Database) -> None:
    with db.session() as session:
        ids = _stations(session, 600)
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
    with db.session() as session:
        ids = _stations(session, 3)
        plans = dict(build_plans(session=session, station_ids=ids,
                                 now=NOW, late_grace=timedelta(minutes=5),
                                 horizon=timedelta(hours=48)))
        assert sorted(plans) == sorted(ids)
        assert {p.revision for p in plans.values()} == {1}
        if db.engine.dialect.name == "postgresql":
            mode = session.execute(text("SHOW plan_cache_mode")).scalar()
            assert mode == "force_custom_plan"
