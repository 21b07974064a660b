"""The data dir, the SQLite database with its -wal and -shm, and the media folders are
readable by the user running wardcast only, also under the usual umask 022 and for an
install made before (0755 folder, 0644 database): they were anyone's to copy."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scheduler.app import create_app
from scheduler.config import Settings
from tests.scheduler.conftest import login_as
from tests.support.procs import free_port

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _run_app(data_dir: Path) -> None:
    """Start the app on SQLite in data_dir and write to the database (so the WAL exists)."""
    settings = Settings(data_dir=data_dir, broker="embedded", embedded_broker="amqtt",
                        mqtt_url=f"mqtt://127.0.0.1:{free_port()}")
    with TestClient(create_app(settings)) as client:
        admin = login_as(client, client.app.state.runtime, "admin")  # type: ignore[attr-defined]
        assert client.post("/api/v1/stations", headers=admin,
                           json={"name": f"Trạm {uuid.uuid4().hex[:6]}", "ward": "P1"}
                           ).status_code == 201
        database = data_dir / "wardcast.sqlite3"
        for name in (database, database.with_name("wardcast.sqlite3-wal"),
                     database.with_name("wardcast.sqlite3-shm")):
            assert mode(name) == 0o600, name
        for folder in (data_dir, data_dir / "media", data_dir / "media" / "dist",
                       data_dir / "media" / "originals", data_dir / "media" / "incoming"):
            assert mode(folder) == 0o700, folder


def test_a_new_data_dir_is_private(tmp_path: Path, database_url: str) -> None:
    _run_app(tmp_path / "data")


def test_an_older_install_is_made_private(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    _run_app(data_dir)  # a first run, as an older version left it: then loosen it all
    for path in data_dir.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    data_dir.chmod(0o755)
    _run_app(data_dir)


def test_the_command_line_makes_the_database_private(tmp_path: Path, database_url: str) -> None:
    env = {**os.environ, "WARDCAST_DATA_DIR": str(tmp_path / "cli-data")}
    done = subprocess.run([sys.executable, "-m", "wardcast.cli", "users", "create",
                           "--username", "quan-tri", "--password", "mat-khau-dai",
                           "--role", "admin"], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert mode(tmp_path / "cli-data") == 0o700
    assert mode(tmp_path / "cli-data" / "wardcast.sqlite3") == 0o600
