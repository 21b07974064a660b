"""A live audio stream for tests, served over HTTP the way Icecast serves a mount.

Each listener gets the audio file looped and encoded in real time (`ffmpeg -re`) as MP3, from
the file's beginning, so what an agent recorded can be compared with the file. The server is
its own process (`python -m tests.support.stream_source`), so a test can kill it mid-relay as
a station's upstream would die; its encoders go with it (they share its process group and die
with their parent).

    with StreamSource(audio, folder=tmp_path) as source:
        source.url  # http://127.0.0.1:PORT/live.mp3
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from tests.support.procs import Proc, free_port, port_open, wait_for

MOUNT = "/live.mp3"
CHUNK = 4096


class StreamSource:
    """The server process; a context manager that starts it and stops it."""

    def __init__(self, audio: Path, *, folder: Path, credentials: tuple[str, str] | None = None,
                 silent: bool = False, port: int | None = None) -> None:
        """port: a given one, to stand in for a source that died (its listeners come back)."""
        self.port = port or free_port()
        argv = [sys.executable, "-m", "tests.support.stream_source", "--port", str(self.port),
                "--audio", str(audio)]
        if credentials is not None:
            argv += ["--user", credentials[0], "--password", credentials[1]]
        if silent:
            argv.append("--silent")
        folder.mkdir(parents=True, exist_ok=True)
        self.proc = Proc(argv, log=folder / f"stream-source-{self.port}.log",
                         cwd=Path(__file__).resolve().parents[2])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{MOUNT}"

    def start(self) -> StreamSource:
        self.proc.start()
        wait_for(lambda: port_open(self.port), timeout=15, what="the stream source to listen")
        return self

    def kill(self) -> None:
        """Die as an upstream does: at once, mid-stream, its listeners cut off."""
        assert self.proc.popen is not None
        pid = self.proc.popen.pid
        try:
            os.killpg(pid, signal.SIGKILL)  # the server and every encoder it started
        except ProcessLookupError:
            pass
        self.proc.popen.wait(timeout=5)

    def __enter__(self) -> StreamSource:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.proc.running:
            self.kill()


def _handler(audio: Path, login: str | None, silent: bool) -> type[BaseHTTPRequestHandler]:
    class Mount(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # as Icecast: no length, the stream ends when it closes

        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            if self.path.split("?")[0] != MOUNT:
                self.send_error(404, "no such mount")
                return
            if login is not None and self.headers.get("Authorization") != f"Basic {login}":
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="wardcast test"')
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("icy-name", "wardcast test stream")
            self.end_headers()
            source = (["-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono"] if silent
                      else ["-stream_loop", "-1", "-i", str(audio)])
            encoder = subprocess.Popen(
                ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", *source,
                 "-c:a", "libmp3lame", "-b:a", "64k", "-ar", "44100", "-ac", "1", "-f", "mp3",
                 "pipe:1"], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            assert encoder.stdout is not None
            try:
                while chunk := os.read(encoder.stdout.fileno(), CHUNK):
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the listener went away
            finally:
                encoder.kill()
                encoder.wait()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return Mount


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--audio", type=Path, required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--silent", action="store_true", help="stream silence, not the audio")
    args = parser.parse_args()
    login = (base64.b64encode(f"{args.user}:{args.password}".encode()).decode()
             if args.user else None)
    server = ThreadingHTTPServer(("127.0.0.1", args.port),
                                 _handler(args.audio, login, args.silent))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
