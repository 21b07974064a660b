"""Slow HTTP clients are cut on a real `wardcast serve`: 200 connections trickling a request
head that never ends (slowloris), one that never sends a byte and one whose body stalls,
while ordinary requests are answered all along. Before, uvicorn held them all for ever."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from scheduler.config import Settings
from tests.support.procs import wait_for
from tests.support.server import Server

pytestmark = pytest.mark.e2e

SLOW = 200


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(None)  # blocking: MSG_DONTWAIT then answers at once
    return sock


def _closed(sock: socket.socket) -> bool:
    """Tell whether the server closed this connection (EOF or reset), without blocking."""
    try:
        return sock.recv(4096, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _trickle(sock: socket.socket, n: int) -> None:
    try:
        sock.sendall(f"X-Slow-{n}: a\r\n".encode())
    except OSError:
        pass  # closed by the server: _closed says so


def test_slow_clients_are_cut_and_others_still_answered(tmp_path: Path) -> None:
    assert Settings.model_fields["http_header_timeout_s"].default == 20
    assert Settings.model_fields["http_body_timeout_s"].default == 60
    server = Server(tmp_path / "server").setup(
        embedded_broker="amqtt", http_header_timeout_s="2", http_body_timeout_s="3").start()
    sockets: list[socket.socket] = []
    held: list[socket.socket] = []
    try:
        for _ in range(SLOW):
            sock = _connect(server.port)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            sockets.append(sock)
        silent, stalled = _connect(server.port), _connect(server.port)
        stalled.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Content-Type: application/x-www-form-urlencoded\r\n"
                        b"Content-Length: 1000\r\n\r\nusername=a")
        held += [*sockets, silent, stalled]

        rounds = 0

        def all_cut() -> bool:
            nonlocal rounds
            rounds += 1
            for n, sock in enumerate(sockets):  # a header line each round: still trickling
                _trickle(sock, rounds * SLOW + n)
            # and the server answers an ordinary request meanwhile
            assert httpx.get(f"{server.base}/healthz", timeout=10).status_code == 200
            time.sleep(0.2)
            return all(_closed(sock) for sock in held)

        wait_for(all_cut, timeout=60, what="the server to cut every slow connection")
        assert rounds > 3  # they trickled for a while before being cut
        assert httpx.get(f"{server.base}/healthz", timeout=10).status_code == 200
        assert server.proc is not None
        said = server.proc.output()
        assert said.count("its request head took over 2 s") >= SLOW + 1
        assert "its request body took over 3 s" in said
    finally:
        for sock in held or sockets:
            sock.close()
        server.stop()


def test_a_slow_but_steady_upload_body_is_not_cut(tmp_path: Path) -> None:
    """The body limit is on a stall, not on the whole body: a body that keeps coming, in
    pieces further apart than nothing but closer than the limit, is read to its end."""
    server = Server(tmp_path / "server").setup(
        embedded_broker="amqtt", http_header_timeout_s="2", http_body_timeout_s="3").start()
    try:
        body = b"username=nobody&password=wrong-password-0123456789"
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n"
                         + f"Content-Length: {len(body)}\r\n\r\n".encode())
            started = time.monotonic()
            for start in range(0, len(body), 10):
                sock.sendall(body[start:start + 10])
                time.sleep(1)
            assert time.monotonic() - started > 3  # longer than the limit, all told
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    finally:
        server.stop()
