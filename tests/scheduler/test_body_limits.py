"""JSON and form bodies are small; an upload's body is read only once its sender is known.

A 190 MB JSON body sent without a token had been read and parsed (RSS 128 MB -> 1.2 GB) before
the 401; now the answer comes before a byte of it is taken in.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scheduler.runtime import Runtime
from tests.scheduler.conftest import login_as, upload

BIG = 190 * 1024 * 1024
TWO_MB = 2 * 1024 * 1024


def _ids_json(size: int) -> bytes:
    """A timetable whose station list makes the body `size` bytes or a little more."""
    return json.dumps({"bulletin_id": 1, "starts_at": "2099-01-01T06:00:00",
                       "station_ids": [1] * (size // 3 + 1)}).encode()


def _refused_as_too_large(answer: Any) -> None:
    assert answer.status_code == 413, answer.text[:300]
    body = answer.json()
    assert body["code"] == "too_large" and body.get("field") is None
    vietnamese, english = body["detail"].split(" — ")
    assert "vượt quá giới hạn 1 MB" in vietnamese and "larger than 1 MB" in english


def test_a_json_body_over_a_megabyte_is_refused(client: TestClient,
                                                admin: dict[str, str]) -> None:
    body = _ids_json(TWO_MB)
    headers = {**admin, "Content-Type": "application/json"}
    _refused_as_too_large(client.post("/api/v1/timetables", headers=headers, content=body))

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams in
        for start in range(0, len(body), 64 * 1024):
            yield body[start:start + 64 * 1024]

    _refused_as_too_large(client.post("/api/v1/timetables", headers=headers, content=chunks()))
    assert client.get("/api/v1/timetables", headers=admin).json()["total"] == 0


def test_forms_of_the_pages_are_bounded_too(client: TestClient, admin: dict[str, str]) -> None:
    client.cookies.set("wardcast_session", admin["Authorization"].removeprefix("Bearer "))
    answer = client.post("/timetables", headers={"Origin": "http://testserver"},
                         data={"station_ids": ["1"] * (TWO_MB // 14)})
    _refused_as_too_large(answer)


class Unread:
    """An ASGI receive() that fails the test if the app asks for a byte of the body."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        raise AssertionError("the body was read")


def _call(client: TestClient, path: str, headers: dict[str, str], *,
          size: int = BIG) -> tuple[int, dict[str, Any], int]:
    """Send a request declaring a large body straight to the app; return the status, the JSON
    answer and how often the app asked for the body."""
    receive = Unread()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "server": ("testserver", 80),
             "client": ("127.0.0.1", 50000),
             "headers": [(b"host", b"testserver"), (b"content-length", str(size).encode()),
                         *((k.lower().encode(), v.encode()) for k, v in headers.items())]}
    assert client.portal is not None
    client.portal.call(client.app, scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body), receive.calls


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wca_not-a-token"},
    {"Cookie": "wardcast_session=wcu_x", "Origin": "http://testserver"}],
    ids=["no-token", "wrong-token", "wrong-cookie"])
def test_an_upload_from_an_unknown_sender_is_refused_unread(client: TestClient, runtime: Runtime,
                                                            headers: dict[str, str]) -> None:
    # within the upload limit (5 MB here, 200 MB by default): only who sends it is wrong
    status, body, reads = _call(client, "/api/v1/bulletins",
                                {**headers, "Content-Type": "multipart/form-data; boundary=x"},
                                size=runtime.settings.max_upload_bytes)
    assert (status, body["code"], reads) == (401, "not_authenticated", 0)


def test_a_cross_site_upload_with_the_cookie_is_refused_unread(
        client: TestClient, runtime: Runtime) -> None:
    token = login_as(client, runtime, "editor")["Authorization"].removeprefix("Bearer ")
    status, body, reads = _call(client, "/api/v1/bulletins", {
        "Cookie": f"wardcast_session={token}", "Origin": "https://elsewhere.example",
        "Content-Type": "multipart/form-data; boundary=x"}, size=runtime.settings.max_upload_bytes)
    assert (status, body["code"], reads) == (403, "csrf", 0)


def test_a_declared_large_json_body_is_refused_unread(client: TestClient,
                                                      admin: dict[str, str]) -> None:
    for headers in ({}, admin):  # 2 MB: over the JSON limit, under the uploads' (5 MB here)
        status, body, reads = _call(client, "/api/v1/timetables",
                                    {**headers, "Content-Type": "application/json"},
                                    size=TWO_MB)
        assert (status, body["code"], reads) == (413, "too_large", 0)


def test_known_users_still_upload_with_the_token_or_the_pages_cookie(
        client: TestClient, runtime: Runtime, speech: Path, speech_mp3: Path) -> None:
    editor = login_as(client, runtime, "editor")
    assert upload(client, editor, speech).status_code == 201
    client.cookies.set("wardcast_session", editor["Authorization"].removeprefix("Bearer "))
    answer = upload(client, {"Origin": "http://testserver"}, speech_mp3, title="Từ trang")
    assert answer.status_code == 201, answer.text
