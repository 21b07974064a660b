"""A tiny threaded HTTP server standing in for the scheduler's agent routes.

It serves ``/api/v1/agent/time`` and media files with Range and ETag, checks the bearer
token, and can drop a transfer part-way or serve corrupt bytes on request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TIME_PATH = "/api/v1/agent/time"


@dataclass
class MediaServer:
    token: str
    files: dict[str, bytes] = field(default_factory=dict)  # URL path -> content
    fail_after: int | None = None  # send this many bytes, then drop the connection (once)
    corrupt: bool = False  # flip a byte in every body sent
    clock_skew_s: float = 0.0  # how far our "server clock" is ahead of the real one
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _handler(server: MediaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            server.requests.append((self.path, self.headers.get("Range")))
            if self.headers.get("Authorization") != f"Bearer {server.token}":
                return self._send(401, b'{"detail": "bad token"}')
            if self.path == TIME_PATH:
                now = datetime.now(UTC) + timedelta(seconds=server.clock_skew_s)
                body = json.dumps({"server_time": now.isoformat().replace("+00:00", "Z")})
                return self._send(200, body.encode())
            content = server.files.get(self.path)
            if content is None:
                return self._send(404, b'{"detail": "no such media"}')
            self._send_media(content)

        def _send_media(self, content: bytes) -> None:
            start = 0
            wanted = self.headers.get("Range")
            if wanted:
                start = int(wanted.removeprefix("bytes=").split("-")[0])
                if start >= len(content):
                    return self._send(416, b"")
            body = bytearray(content[start:])
            if server.corrupt and body:
                body[len(body) // 2] ^= 0xFF
            headers = {"ETag": '"etag"', "Accept-Ranges": "bytes"}
            if start:
                headers["Content-Range"] = f"bytes {start}-{len(content) - 1}/{len(content)}"
            self._send(206 if start else 200, bytes(body), headers)

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None
                  ) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if server.fail_after is not None and len(body) > server.fail_after:
                cut, server.fail_after = server.fail_after, None
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@contextmanager
def serving(server: MediaServer) -> Iterator[MediaServer]:
    """Run the server on a free loopback port in a thread."""
    httpd = ThreadingHTTPServer(("127.0.0.1", server.port), _handler(server))
    httpd.daemon_threads = True
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)  # shutdown() waits up to one poll interval
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
