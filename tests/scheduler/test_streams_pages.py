"""The stream pages' forms without a browser: a refused change keeps what was typed and changes
nothing, the password is never in a page, viewers only read."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from scheduler.config import Settings
from scheduler.runtime import Runtime
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD
from tests.scheduler.streams_support import added, dead_url, quick

SECRET = "mat-khau-tiep-am-42"
ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return quick(settings)


def _log_in(client: TestClient, runtime: Runtime, role: str) -> None:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD, role=role)
    answer = client.post("/login", data={"username": username, "password": PASSWORD},
                         headers=ORIGIN, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_a_refused_change_keeps_what_was_typed(client: TestClient, runtime: Runtime,
                                               admin: dict[str, str]) -> None:
    stream = added(client, admin, name="Đài tỉnh", url=dead_url(), username="dai-tinh",
                   password=SECRET, allow_unreachable=True)
    _log_in(client, runtime, "editor")
    page = client.get(f"/streams/{stream['id']}")
    assert page.status_code == 200 and 'value="dai-tinh"' in page.text
    answer = client.post(f"/streams/{stream['id']}", headers=ORIGIN, data={
        "name": "Đài phát thanh tỉnh", "url": "pipe:0", "username": "dai-tinh"})
    assert answer.status_code == 422
    assert 'value="Đài phát thanh tỉnh"' in answer.text and 'value="pipe:0"' in answer.text
    assert "chỉ nhận địa chỉ http://" in answer.text
    assert client.get(f"/api/v1/streams/{stream['id']}", headers=admin).json() == stream
    shown = [page.text, answer.text, client.get("/streams").text, client.get("/stations").text]
    assert [text for text in shown if SECRET in text] == []
    renamed = client.post(f"/streams/{stream['id']}", headers=ORIGIN, follow_redirects=False,
                          data={"name": "Đài phát thanh tỉnh", "url": stream["url"],
                                "username": "dai-tinh"})
    assert renamed.status_code == 303
    kept = client.get(f"/api/v1/streams/{stream['id']}", headers=admin).json()
    assert (kept["name"], kept["has_credentials"]) == ("Đài phát thanh tỉnh", True)


def test_viewers_only_read_the_stream_pages(client: TestClient, runtime: Runtime,
                                            admin: dict[str, str]) -> None:
    stream = added(client, admin, name="VOV1", url=dead_url(), allow_unreachable=True)
    _log_in(client, runtime, "viewer")
    page = client.get("/streams")
    assert page.status_code == 200 and "VOV1" in page.text and 'id="stream-form"' not in page.text
    assert client.get(f"/streams/{stream['id']}").status_code == 403
    for path in ("/check", "/delete", ""):
        answer = client.post(f"/streams/{stream['id']}{path}", headers=ORIGIN,
                             data={"name": "x", "url": dead_url()})
        assert answer.status_code == 403, path
    assert client.get("/api/v1/streams", headers=admin).json()["total"] == 1
