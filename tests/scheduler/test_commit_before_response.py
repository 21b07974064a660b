"""A request's session commits before its response goes out, never after.

With FastAPI's default (since 0.118) a dependency's code after ``yield`` runs once the response
has been sent: a login's token was committed after the client had it, and a script that used
it at once was sometimes refused (two `wardcast simulate` processes starting together were);
a commit that failed would have followed a success already reported.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from scheduler.app import create_app
from scheduler.config import Settings
from scheduler.runtime import Runtime
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD


class _Recorder:
    """Wraps the app: notes each commit and each response start, in order."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.order: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.order.append("response")
            await send(message)

        await self.app(scope, receive, sending)

    def committed(self, _session: Session) -> None:
        self.order.append("commit")


@pytest.fixture
def recorded(settings: Settings) -> Iterator[tuple[TestClient, _Recorder]]:
    app = create_app(settings)
    recorder = _Recorder(app)
    event.listen(Session, "after_commit", recorder.committed)
    try:
        with TestClient(recorder) as test_client:  # type: ignore[arg-type]
            yield test_client, recorder
    finally:
        event.remove(Session, "after_commit", recorder.committed)


def test_a_login_is_committed_before_its_token_is_answered(
        recorded: tuple[TestClient, _Recorder]) -> None:
    client, recorder = recorded
    runtime: Runtime = client.app.app.state.runtime  # type: ignore[attr-defined]
    username = f"clerk-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD,
                          role="admin")
    recorder.order.clear()
    answer = client.post("/api/v1/auth/token", data={"username": username,
                                                     "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    assert recorder.order[-2:] == ["commit", "response"], recorder.order
    headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    recorder.order.clear()
    made = client.post("/api/v1/stations", headers=headers,
                       json={"name": "Phường Tân Lợi", "ward": "Tân Lợi",
                             "timezone": "Asia/Ho_Chi_Minh"})
    assert made.status_code == 201, made.text
    assert "response" in recorder.order and "commit" in recorder.order
    assert recorder.order.index("commit") < recorder.order.index("response"), recorder.order
