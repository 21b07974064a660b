"""The stream probe on its own: HLS over HTTP, a playlist that names local files, and a login
that never reaches the log (real ffmpeg, real HTTP servers)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scheduler.streams.models import StreamState
from scheduler.streams.probe import probe
from scheduler.streams.urls import parse
from tests.scheduler.streams_support import dead_url
from tests.support.stream_source import StreamSource


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def folder_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A folder served over HTTP: (base URL, folder)."""
    served = tmp_path / "served"
    served.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()
    server.server_close()


def test_an_hls_playlist_over_http(folder_server: tuple[str, Path], speech: Path) -> None:
    base, served = folder_server
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "3", "-i", str(speech), "-c:a",
                    "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
                    str(served / "vov.m3u8")], check=True)
    found = probe(parse(f"{base}/vov.m3u8"), listen_s=2)
    assert (found.state, found.codec, found.channels) == (StreamState.OK, "aac", 1)
    assert found.bitrate_kbps is None  # the playlist says none (not a misleading 0 kbit/s)


def test_a_playlist_cannot_make_ffmpeg_read_a_local_file(folder_server: tuple[str, Path],
                                                         speech: Path, tmp_path: Path) -> None:
    base, served = folder_server
    local = tmp_path / "local"
    local.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(speech), "-c:a", "aac", "-f", "hls",
                    "-hls_time", "2", str(local / "x.m3u8")], check=True)
    segments = sorted(local.glob("*.ts"))
    (served / "evil.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:2\n" + "".join(
        f"#EXTINF:2,\nfile://{segment}\n" for segment in segments) + "#EXT-X-ENDLIST\n")
    found = probe(parse(f"{base}/evil.m3u8"), listen_s=2)
    assert found.state is StreamState.UNREACHABLE and found.codec is None
    assert found.error is not None and "giao thức không được phép" in found.error


def test_a_login_never_reaches_the_log(speech: Path, tmp_path: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    secret = "bí-mật@tiếp:âm"
    with StreamSource(speech, folder=tmp_path, credentials=("vov", "right-one")) as source, \
            caplog.at_level("DEBUG"):
        wrong = probe(parse(source.url, username="vov", password=secret), listen_s=1)
        # ffmpeg names a refused address with its login: the log must not
        refused = probe(parse(dead_url(), username="vov", password=secret), listen_s=1)
    assert "đòi tên đăng nhập" in (wrong.error or "")
    assert "từ chối kết nối" in (refused.error or "")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "401" in logged and "Connection refused" in logged
    assert "bí-mật" not in logged and "b%C3%AD" not in logged
