"""The planner's bulk quiet-hours lookup agrees with the one-station rule it replaces."""

from __future__ import annotations

from datetime import UTC, datetime, time

from scheduler.db import Database
from scheduler.groups import service as groups
from scheduler.groups.schemas import GroupCreate
from scheduler.stations.models import Station
from scheduler.users import service as users

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def test_bulk_lookup_matches_the_station_by_station_rule(db: Database) -> None:
    with db.session() as session:
        admin = users.create_user(session=session, username="qh-admin", password="pw-123456",
                                  role="admin")
        made = [Station(name=f"S{i}", ward="P1", timezone="Asia/Ho_Chi_Minh", created_at=NOW)
                for i in range(6)]
        own, ward_member, city_only, two_groups, nested, alone = made
        own.quiet_start, own.quiet_end = time(23), time(4)
        session.add_all(made)
        session.flush()

        def group(name: str, ids: list[int], quiet: tuple[time, time] | None = None,
                  parent: int | None = None) -> int:
            start, end = quiet or (None, None)
            return groups.create(session=session, by=admin, data=GroupCreate(
                name=name, station_ids=ids, parent_id=parent, quiet_start=start,
                quiet_end=end)).id

        city = group("city", [own.id, city_only.id], (time(22), time(5)))
        ward = group("ward", [ward_member.id, nested.id], (time(21), time(6)), city)
        group("cluster", [nested.id], None, ward)  # no hours: the ward's apply, then the city's
        group("b", [two_groups.id], (time(20), time(7)))
        group("a-later", [two_groups.id], (time(19), time(8)))

        found = groups.quiet_hours_many(session=session, stations=made)
        expected = {s.id: groups.quiet_hours(session=session, station=s) for s in made}
    assert found == expected
    assert found[own.id] == (time(23), time(4)) and found[alone.id] is None
    assert found[nested.id] == (time(21), time(6)) and found[two_groups.id] == (time(20), time(7))
