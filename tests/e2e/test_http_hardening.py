"""A real `wardcast serve` refuses large bodies before reading them, and its access log never
shows a token (uvicorn logs each request line with its query string)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.procs import wait_for
from tests.support.server import Server

pytestmark = pytest.mark.e2e

DECLARED = 190 * 1024 * 1024  # under the default 200 MB upload limit


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with the default limits."""
    running = Server(tmp_path_factory.mktemp("httpsec") / "server").setup().start()
    yield running
    running.stop()


def _start(server: Server, head: str, first_bytes: bytes) -> socket.socket:
    """Send a request's head and the first bytes of a body it says is much longer."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    sock.sendall(head.encode() + b"\r\n" + first_bytes)
    return sock


def _answer(sock: socket.socket) -> tuple[int, dict[str, object]]:
    """Read the answer the server gives without the rest of the body (this waits for it
    without a limit of its own: a server that waits for the body times the socket out)."""
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_large_bodies_are_refused_before_they_are_read(served: Server) -> None:
    host = f"Host: 127.0.0.1:{served.port}\r\n"
    json_request = _start(served, "POST /api/v1/timetables HTTP/1.1\r\n" + host +
                          "Content-Type: application/json\r\n"
                          f"Content-Length: {DECLARED}\r\n", b'{"station_ids": [1, ')
    upload_request = _start(served, "POST /api/v1/bulletins HTTP/1.1\r\n" + host +
                            "Content-Type: multipart/form-data; boundary=x\r\n"
                            f"Content-Length: {DECLARED}\r\n", b"--x\r\n")
    try:
        # answered with 190 MB still unsent: nothing waited for the body, nothing read it
        status, body = _answer(json_request)
        assert (status, body["code"]) == (413, "too_large"), body
        assert "1 MB" in str(body["detail"]) and " — " in str(body["detail"])
        status, body = _answer(upload_request)
        assert (status, body["code"]) == (401, "not_authenticated"), body
        # and the server answers others meanwhile, the two connections still open
        assert httpx.get(f"{served.base}/healthz", timeout=30).status_code == 200
    finally:
        json_request.close()
        upload_request.close()


def test_no_token_reaches_the_access_log(served: Server) -> None:
    api = served.api()
    login_token = str(api.headers["Authorization"]).removeprefix("Bearer ")
    station = api.post("/stations", json={"name": "Trạm nhật ký", "ward": "P1"}).json()
    api_token = api.post("/users/me/tokens", json={"name": "lịch"}).json()["token"]
    feed = api.post("/feeds", json={"station_id": station["id"]}).json()
    old = f"{served.base}/api/v1/stations/{station['id']}/calendar.ics"
    for token in (api_token, login_token):
        assert httpx.get(old, params={"token": token}).status_code == 401
    assert httpx.get(f"{served.base}/api/v1/users/me",
                     params={"note": api_token}).status_code == 401
    assert httpx.get(feed["url"]).status_code == 200
    assert api.delete(f"/feeds/{feed['id']}").status_code == 204
    assert httpx.get(feed["url"]).status_code == 401

    log = Path(served.workdir / "server.log")
    wait_for(lambda: log.read_text().count("/calendar.ics") >= 4, timeout=30,
             what="the access log lines of the calendar requests")
    text = log.read_text()
    assert f'"GET /api/v1/stations/{station["id"]}/calendar.ics?token=*** HTTP/1.1" 401' in text
    assert '"GET /api/v1/feeds/***/calendar.ics HTTP/1.1" 200' in text
    for secret in (login_token, api_token, feed["token"]):
        assert secret not in text
        assert secret[4:24] not in text  # nor a recognisable part of it
