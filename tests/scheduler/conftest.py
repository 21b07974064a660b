"""The scheduler app in-process (TestClient) on SQLite and PostgreSQL, with its broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from scheduler.app import create_app
from scheduler.config import Settings
from scheduler.db import Database
from scheduler.migrations import upgrade
from scheduler.runtime import Runtime
from scheduler.users import service as users
from tests.conftest import postgres_url
from tests.scheduler.report_scenario import REPORTED_AT
from tests.support import clock as clocks
from tests.support.clock import Clock
from tests.support.postgres import fresh_database
from tests.support.procs import free_port

PASSWORD = "password-123"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    with fresh_database(postgres_url(), prefix="wardcast_test") as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database on its own, for tests of the scheduler's parts without the app."""
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, broker="embedded",
                    mqtt_url=f"mqtt://127.0.0.1:{free_port()}",
                    max_upload_bytes=5 * 1024 * 1024)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def runtime(client: TestClient) -> Runtime:
    found: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return found


def login_as(client: TestClient, runtime: Runtime, role: str) -> dict[str, str]:
    """Create a user with this role and return its Authorization header."""
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD, role=role)
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def admin(client: TestClient, runtime: Runtime) -> dict[str, str]:
    return login_as(client, runtime, "admin")


def upload(client: TestClient, headers: dict[str, str], path: Path, *, name: str | None = None,
           title: str = "Bản tin", language: str = "vi") -> httpx.Response:
    with path.open("rb") as handle:
        return client.post("/api/v1/bulletins", headers=headers,
                           files={"file": (name or path.name, handle, "application/octet-stream")},
                           data={"title": title, "language": language})


def approved_bulletin(client: TestClient, headers: dict[str, str], path: Path) -> int:
    """Upload as these headers' user and approve as another (the two-person rule)."""
    answer = upload(client, headers, path)
    assert answer.status_code == 201, answer.text
    bulletin_id = int(answer.json()["id"])
    approver = login_as(client, client.app.state.runtime, "approver")  # type: ignore[attr-defined]
    assert client.post(f"/api/v1/bulletins/{bulletin_id}/approve",
                       headers=approver).status_code == 200
    return bulletin_id


def station(client: TestClient, headers: dict[str, str], name: str,
            timezone: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"name": name, "ward": "Phường 1"}
    if timezone:
        body["timezone"] = timezone
    answer = client.post("/api/v1/stations", headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, object] = answer.json()
    return created


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """The report scenario's clock, at its REPORTED_AT (tests move it)."""
    moved = Clock(REPORTED_AT)
    clocks.install(monkeypatch, moved)
    yield moved
