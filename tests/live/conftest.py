"""Live sessions' API tests use the in-process scheduler of tests/scheduler (TestClient, on
SQLite and PostgreSQL, with its own broker); each module gives its own `settings`."""

from __future__ import annotations

from tests.scheduler.conftest import (  # noqa: F401 (fixtures)
    admin,
    client,
    database_url,
    runtime,
)
