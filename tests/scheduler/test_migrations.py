"""Migrations: replicas that start together on one PostgreSQL database migrate it once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, inspect, text

from scheduler.migrations import upgrade


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_replicas_starting_together_migrate_once(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(3)]
    failures: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def migrate(index: int) -> None:
        start.wait()
        try:
            upgrade(engines[index])
        except BaseException as exc:  # reported below: any replica failing fails the test
            failures.append(exc)

    threads = [threading.Thread(target=migrate, args=(i,)) for i in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    with engines[0].connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert len(versions) == 1
        assert "playbacks" in inspect(conn).get_table_names()
    for engine in engines:
        engine.dispose()
