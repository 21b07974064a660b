"""The upload limit holds on a real server for a streamed body that declares no length."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from scheduler.config import Settings
from tests.support.server import Server

pytestmark = pytest.mark.e2e

LIMIT = 2 * 1024 * 1024
CHUNK = 64 * 1024


def test_the_default_limit_is_200_mb() -> None:
    assert Settings.model_fields["max_upload_bytes"].default == 200 * 1024 * 1024


def test_a_chunked_upload_is_refused_once_past_the_limit(tmp_path: Path) -> None:
    server = Server(tmp_path / "server").setup(max_upload_bytes=str(LIMIT)).start()
    try:
        api = server.api()
        token = str(api.headers["Authorization"])
        sent, answer = _stream_upload(server.port, token, total=60 * 1024 * 1024)
        status_line = answer.split(b"\r\n", 1)[0]
        assert b" 413 " in status_line, answer[:500]
        body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        assert (body["code"], body["field"]) == ("too_large", "file") and "MB" in body["detail"]
        # refused while streaming: far from the whole 60 MB had to be sent (socket buffers
        # on loopback hold a few MB), and nothing of it was kept
        assert sent < 20 * 1024 * 1024, sent
        assert api.get("/bulletins").json()["total"] == 0
        stored = list((tmp_path / "server" / "data").rglob("*.upload"))
        assert stored == []
        assert api.get("/bulletins").status_code == 200  # and the server is fine
    finally:
        server.stop()


def _stream_upload(port: int, authorization: str, *, total: int) -> tuple[int, bytes]:
    """Send a chunked multipart upload until the server answers; return bytes sent and the
    answer (headers and body)."""
    boundary = "wardcastboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nTin\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"language\"\r\n\r\nvi\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"lon.wav\"\r\nContent-Type: audio/wav\r\n\r\n").encode()
    request = (f"POST /api/v1/bulletins HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"Authorization: {authorization}\r\nTransfer-Encoding: chunked\r\n"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n").encode()
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        sock.setblocking(False)
        pieces = [head] + [b"\0" * CHUNK] * (total // CHUNK)
        for piece in pieces:
            if _answer_waiting(sock):
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            except BlockingIOError:
                time.sleep(0.01)  # the server is not reading: see whether it answered
                continue
            except OSError:
                break  # it closed the connection after answering
            sent += len(piece)
        sock.setblocking(True)
        return sent, _read_answer(sock)


def _answer_waiting(sock: socket.socket) -> bool:
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return False


def _read_answer(sock: socket.socket) -> bytes:
    data = b""
    deadline = time.monotonic() + 30
    while b"\r\n\r\n" not in data or b"too_large" not in data:
        if time.monotonic() > deadline:
            break
        try:
            piece = sock.recv(65536)
        except OSError:
            break
        if not piece:
            break
        data += piece
    return data
