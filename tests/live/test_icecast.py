"""The Icecast `wardcast serve` runs: a real one, started by the app's lifespan as in production,
with the app served on a real port for its listener checks."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import threading
import wave
from array import array
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import Session

from scheduler.app import create_app
from scheduler.config import Settings
from scheduler.live import service
from scheduler.live.icecast import LiveServer
from scheduler.runtime import Runtime
from tests.live.conftest import new_station
from tests.support.procs import Proc, free_port, port_open, wait_for
from tests.support.server import Server

MOUNT = "live-1-test.ogg"


@pytest.fixture
def served(settings: Settings) -> Iterator[Runtime]:
    """The app served by uvicorn on a free port (its lifespan starts Icecast), then stopped."""
    port = free_port()
    app = create_app(settings, api_url=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="served-app", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), timeout=60,
                 what="the app to start")
        assert server.started, "the app did not start"
        yield app.state.runtime
    finally:
        server.should_exit = True
        thread.join(30)
    assert icecasts(settings.data_dir) == [], "Icecast outlived the app"


def icecasts(data_dir: Path) -> list[int]:
    """The Icecast processes running on this data dir's configuration."""
    config = str(data_dir / "icecast" / "icecast.xml").encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry / "comm").read_text().strip() != "icecast2":
                continue
            if config in (entry / "cmdline").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (OSError, ValueError):  # not a process, or one that just ended
            continue
    return found


def status(url: str, login: tuple[str, str] | None) -> int:
    """What Icecast answers a listener with this login (the audio is not read)."""
    with httpx.stream("GET", url, auth=login, timeout=10) as answer:
        return answer.status_code


def with_login(url: str, user: str, password: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{rest}"


def peak(path: Path) -> int:
    with wave.open(str(path)) as wav:
        samples = array("h", wav.readframes(wav.getnframes()))
    return max((abs(s) for s in samples), default=0)


def push_tone(live: LiveServer, folder: Path) -> Proc:
    """A source sending a 440 Hz tone to the mount, as the scheduler's own ffmpeg will."""
    return Proc(["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i",
                 "sine=frequency=440:sample_rate=48000", "-c:a", "libopus", "-b:a", "48k",
                 "-content_type", "application/ogg", "-f", "ogg", live.source_url(MOUNT)],
                log=folder / "source.log").start()


def test_a_station_hears_a_mount_meant_for_it_and_no_other_login_does(
        served: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    live = served.live
    assert live is not None, "no streaming server: is icecast2 installed?"
    a_id, a_token = new_station(served.db, "Trạm A")
    b_id, b_token = new_station(served.db, "Trạm B")

    def may_listen(*, session: Session, mount: str, station_id: int) -> bool:
        return station_id == a_id and mount == MOUNT  # the live session's targets: A

    monkeypatch.setattr(service, "may_listen", may_listen)
    source = push_tone(live, tmp_path)
    url = live.listen_url(MOUNT)
    wait_for(lambda: status(url, ("wardcast", live.key)) == 200, timeout=30,
             what="the mount to be on air (the scheduler's own login)")

    heard = tmp_path / "a.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", with_login(url, str(a_id), a_token),
                    "-t", "1", "-ac", "1", "-ar", "48000", str(heard)],
                   check=True, timeout=30)
    assert peak(heard) > 3000, "station A got no audio"
    assert status(url, (str(b_id), b_token)) in (401, 403)  # a station not meant for it
    assert status(url, (str(a_id), b_token)) in (401, 403)  # another station's token
    assert status(url, (str(a_id), "wcs_wrong-token")) in (401, 403)
    assert status(url, None) in (401, 403)
    assert status(url, ("wardcast", "guess")) in (401, 403)
    source.stop()


def test_icecast_runs_as_nobody_when_started_as_root_and_comes_back_after_kill_9(
        served: Runtime) -> None:
    live = served.live
    assert live is not None, "no streaming server: is icecast2 installed?"
    [first] = icecasts(served.settings.data_dir)
    expected = pwd.getpwnam("nobody").pw_uid if os.getuid() == 0 else os.getuid()
    assert _uid(first) == expected
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: [p for p in icecasts(served.settings.data_dir) if p != first] != []
             and port_open(
        live.source_port), timeout=30, what="Icecast to be started again")
    # the new one asks wardcast with the same key: the scheduler passes (no source: 404)
    url = live.listen_url("nothing-on-air.ogg")
    wait_for(lambda: status(url, ("wardcast", live.key)) == 404, timeout=30,
             what="the listener check to answer again")
    assert status(url, ("wardcast", "guess")) in (401, 403)


def _uid(pid: int) -> int:
    """The real user id of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def test_icecast_goes_with_a_scheduler_killed_by_sigkill(tmp_path: Path) -> None:
    """`wardcast serve` killed outright leaves no Icecast behind (as root too, where Icecast
    changes its user, which would clear the signal it gets when its parent dies)."""
    server = Server(tmp_path / "server").setup(live_host="127.0.0.1").start()
    data_dir = Path(server.env["WARDCAST_DATA_DIR"])
    wait_for(lambda: len(icecasts(data_dir)) == 1, timeout=30, what="Icecast to run")
    port = int(server.env["WARDCAST_LIVE_PORT"])
    assert port_open(port)
    assert server.proc is not None
    server.proc.stop(sig=signal.SIGKILL)
    try:
        wait_for(lambda: icecasts(data_dir) == [], timeout=15,
                 what="Icecast to end with wardcast")
        wait_for(lambda: not port_open(port), timeout=10, what="its port to be free")
    finally:
        for pid in icecasts(data_dir):  # left behind: the test failed, leak nothing
            os.kill(pid, signal.SIGKILL)
