"""The listener check Icecast asks (POST /api/v1/live/auth), answered by the app in-process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from scheduler.app import create_app
from scheduler.config import Settings
from scheduler.live import service
from scheduler.live.icecast import LiveServer
from scheduler.runtime import Runtime
from tests.live.conftest import new_station

AUTH = "/api/v1/live/auth"
KEY = "the-key-of-this-start"
MOUNT = "live-1-abc.ogg"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def runtime(client: TestClient) -> Runtime:
    found: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return found


def ask(client: TestClient, *, user: str, password: str, mount: str = f"/{MOUNT}",
        key: str = KEY, action: str = "listener_add") -> tuple[int, str | None]:
    """Ask as Icecast 2.4 does; return the status and the header that lets one in."""
    answer = client.post(AUTH, params={"key": key}, data={
        "action": action, "server": "localhost", "port": "8010", "client": "7",
        "mount": mount, "user": user, "pass": password, "ip": "10.0.0.9", "agent": "Lavf"})
    return answer.status_code, answer.headers.get("icecast-auth-user")


def test_only_a_station_meant_for_the_mount_is_let_in(
        client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    a_id, a_token = new_station(runtime.db, "Trạm A")
    b_id, b_token = new_station(runtime.db, "Trạm B")
    asked: list[tuple[str, int]] = []

    def may_listen(*, session: Session, mount: str, station_id: int) -> bool:
        asked.append((mount, station_id))
        return station_id == a_id and mount == MOUNT

    monkeypatch.setattr(service, "may_listen", may_listen)
    runtime.live = LiveServer(source_host="127.0.0.1", source_port=8010,
                              source_password="s", listen_base="http://127.0.0.1:8010", key=KEY)
    assert ask(client, user=str(a_id), password=a_token) == (200, "1")
    assert ask(client, user=str(a_id), password=a_token, mount=f"/{MOUNT}?x=1") == (200, "1")
    assert asked == [(MOUNT, a_id)] * 2  # the mount's name, without its slash and query
    assert ask(client, user=str(b_id), password=b_token) == (403, None)  # not meant for B
    assert ask(client, user=str(a_id), password=b_token) == (403, None)  # B's token as A
    assert ask(client, user=str(a_id), password="wcs_wrong") == (403, None)
    assert ask(client, user="", password="") == (403, None)
    assert ask(client, user=str(a_id), password=a_token, key="guess") == (403, None)
    assert ask(client, user=str(a_id), password=a_token, action="mount_add") == (403, None)
    assert ask(client, user="wardcast", password=KEY) == (200, "1")  # the scheduler's checks
    assert ask(client, user="wardcast", password="guess") == (403, None)
    assert ask(client, user=f"{a_id}" + "0" * 30, password=a_token) == (403, None)


def test_without_a_streaming_server_nobody_is_let_in(client: TestClient,
                                                      runtime: Runtime) -> None:
    assert runtime.live is None  # not run by `wardcast serve`: no Icecast
    answer = client.post(AUTH, params={"key": ""}, data={"action": "listener_add",
                                                         "user": "wardcast", "pass": ""})
    assert answer.status_code == 403 and answer.json()["code"] == "bad_key"
    assert "icecast-auth-user" not in answer.headers
