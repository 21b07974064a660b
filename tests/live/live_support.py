"""A stand-in for the streaming server: the scheduler's pusher writes the mount's Ogg/Opus to
a file (what Icecast would have sent on), and agents are told an address nothing serves."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from scheduler.config import Settings
from scheduler.runtime import Runtime
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD
from tests.support.procs import free_port

LISTEN = "http://127.0.0.1:9"  # the discard port: nothing listens to what the agents are sent


class FileMounts:
    """LiveServer whose mounts are files in a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def source_url(self, mount: str) -> str:
        return str(self.folder / mount)

    def listen_url(self, mount: str) -> str:
        return f"{LISTEN}/{mount}"

    def key_matches(self, key: str) -> bool:
        """The listener check's key (no streaming server asks it here)."""
        return False


def scheduler_settings(tmp_path: Path, database_url: str, **extra: Any) -> Settings:
    """The in-process scheduler's settings (as tests/scheduler's), with these changes."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url, broker="embedded",
                    mqtt_url=f"mqtt://127.0.0.1:{free_port()}",
                    max_upload_bytes=5 * 1024 * 1024, **extra)


def user(client: TestClient, runtime: Runtime, role: str, *,
         wards: tuple[str, ...] = ()) -> dict[str, str]:
    """A new user with this role (limited to these wards, if any); its Authorization header."""
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD, role=role,
                          wards=list(wards))
    token = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def key_of(started: dict[str, Any]) -> str:
    """The ingest key in a started session's ingest_url."""
    return str(started["ingest_url"]).rpartition("key=")[2]
