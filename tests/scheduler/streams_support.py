"""Helpers for the stream tests: a dead address, quick settings, posting streams."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from scheduler.config import Settings
from tests.support.procs import free_port


def quick(settings: Settings) -> Settings:
    """Probes that listen 2 s; no background check while a test runs (tests call the job)."""
    return settings.model_copy(update={"stream_listen_s": 2.0, "stream_check_s": 86400.0})


def dead_url() -> str:
    """An address where nothing listens: the connection is refused at once."""
    return f"http://127.0.0.1:{free_port()}/live.mp3"


def add(client: TestClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return client.post("/api/v1/streams", headers=headers, json=body)


def added(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = add(client, headers, **body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created
