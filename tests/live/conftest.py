"""Live voice's fixtures: settings of a scheduler with its own ports, and a station maker.

The live sessions' API tests use the in-process scheduler of tests/scheduler (TestClient, on
SQLite and PostgreSQL, with its own broker), each module with its own `settings`."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.config import Settings
from scheduler.db import Database
from scheduler.stations import service as stations
from tests.scheduler.conftest import (  # noqa: F401 (fixtures)
    admin,
    client,
    database_url,
    runtime,
)
from tests.support.procs import free_port


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A scheduler on SQLite with its own broker and streaming server ports, on loopback."""
    return Settings(data_dir=tmp_path / "data",
                    database_url=f"sqlite:///{tmp_path / 'test.sqlite3'}", broker="embedded",
                    mqtt_url=f"mqtt://127.0.0.1:{free_port()}", live_host="127.0.0.1",
                    live_port=free_port())


def new_station(db: Database, name: str) -> tuple[int, str]:
    """Register a station; return its id and token."""
    with db.session() as session:
        station, token = stations.register(session=session, name=name, ward="Phường 1",
                                           timezone="Asia/Ho_Chi_Minh")
        session.flush()
        return station.id, token
