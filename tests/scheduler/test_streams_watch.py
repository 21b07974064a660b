"""The streams are watched: the leader's job finds a stream that died and one that came back,
and the station dashboard flags a silent or unreachable stream, in Vietnamese."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from fastapi.testclient import TestClient

from scheduler import jobs
from scheduler.config import Settings
from scheduler.runtime import Runtime
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD
from tests.scheduler.streams_support import added, dead_url, quick
from tests.support.procs import port_open, wait_for
from tests.support.stream_source import StreamSource


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return quick(settings)


def _state(client: TestClient, headers: dict[str, str], stream_id: int) -> dict[str, str]:
    found: dict[str, str] = client.get(f"/api/v1/streams/{stream_id}", headers=headers).json()
    return found


def test_the_watch_finds_a_stream_that_died_and_came_back(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech: Path,
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = StreamSource(speech, folder=tmp_path).start()
    stream = added(client, admin, name="VOV1", url=source.url)
    other = added(client, admin, name="Đài tỉnh", url=dead_url(), allow_unreachable=True)
    assert runtime.is_leader  # one database: this replica plans and watches
    source.kill()
    with caplog.at_level("WARNING", logger="scheduler.streams.watch"):
        jobs.watch_streams(runtime)
    died = _state(client, admin, stream["id"])
    assert (died["state"], died["codec"]) == ("unreachable", "mp3")  # last heard as mp3
    assert died["state_since"] > stream["state_since"]
    assert "từ chối kết nối" in died["last_error"]
    assert [r.getMessage() for r in caplog.records if "VOV1" in r.getMessage()] != []
    assert _state(client, admin, other["id"])["state_since"] == other["state_since"]
    source.start()
    wait_for(lambda: port_open(source.port), timeout=15, what="the stream to come back")
    jobs.watch_streams(runtime)
    back = _state(client, admin, stream["id"])
    assert (back["state"], back["last_error"]) == ("ok", None)
    assert back["state_since"] > died["state_since"]
    source.kill()


def _page_login(client: TestClient, runtime: Runtime) -> None:
    with runtime.db.session() as session:
        users.create_user(session=session, username="xem-trang", password=PASSWORD,
                          role="viewer")
    answer = client.post("/login", data={"username": "xem-trang", "password": PASSWORD},
                         headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_the_dashboard_flags_a_stream_that_cannot_be_reached(
        client: TestClient, runtime: Runtime, admin: dict[str, str]) -> None:
    down = added(client, admin, name="Đài phát thanh tỉnh", url=dead_url(),
                 allow_unreachable=True)
    _page_login(client, runtime)
    board = client.get("/stations/fragment").text
    flag = re.search(r'<p class="flash error stream-flag" data-stream="(\d+)">'
                     r'<a href="(/streams[^"]*)">([^<]*)</a>', board)
    assert flag is not None, board
    assert flag.group(1) == str(down["id"]) and flag.group(2).startswith("/streams")
    assert re.fullmatch(r"Nguồn tiếp âm «Đài phát thanh tỉnh»: Không truy cập được từ "
                        r"\d\d:\d\d \d\d/\d\d/\d{4}", flag.group(3).replace("&#171;", "«")
                        .replace("&#187;", "»")), flag.group(3)
    page = client.get("/streams").text
    assert "Không truy cập được" in page and "máy chủ từ chối kết nối" in page
    assert "Kiểm tra ngay" not in page  # a viewer reads, but does not check


def test_the_leader_watches_every_stream_check_s(runtime: Runtime) -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs._lead(scheduler, runtime, True)
    job = scheduler.get_job("watch_streams")
    assert job is not None and job.trigger.interval == timedelta(
        seconds=runtime.settings.stream_check_s)
    jobs._lead(scheduler, runtime, False)  # stepping down stops the watch with the rest
    assert scheduler.get_job("watch_streams") is None
