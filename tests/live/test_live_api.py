"""Live sessions through the API: a session is a hidden stream and a broadcast of it to its
stations, which only they may hear; its source sends by PUT (with its key) or WebSocket (a
login); stopping it ends its playbacks `live_ended` and keeps what was said as a pending
bulletin; it stops itself when its source is gone. The streaming server is a stand-in here
(tests/live/live_support.py); tests/e2e/test_live.py runs the real one with real agents."""

from __future__ import annotations

import re
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from scheduler.config import Settings
from scheduler.dispatch.plans import build_plan
from scheduler.live import control
from scheduler.live import service as live_service
from scheduler.runtime import Runtime
from scheduler.stations.models import Station
from scheduler.web import reasons as words
from tests.live.live_support import FileMounts, key_of, scheduler_settings, user
from tests.scheduler.conftest import station
from tests.support.audio import wav_duration_ms
from tests.support.procs import wait_for
from wardcast.protocol import utcnow

API = "/api/v1"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return scheduler_settings(tmp_path, database_url, live_drop_s=1.0)


@pytest.fixture
def mounts(runtime: Runtime, tmp_path: Path) -> Iterator[FileMounts]:
    runtime.live = FileMounts(tmp_path / "mounts")
    yield runtime.live
    for live_id in runtime.ingests.running():  # a test that failed half-way
        runtime.ingests.close(live_id)


@pytest.fixture
def speech_ogg(speech: Path) -> Path:
    """The speech as a source sends it: Ogg/Opus in 20 ms pages."""
    target = speech.with_name("speech-live.ogg")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(speech), "-c:a", "libopus",
                    "-page_duration", "20000", "-f", "ogg", str(target)], check=True)
    return target


def start(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = client.post(f"{API}/live", headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    started: dict[str, Any] = answer.json()
    return started


def session(client: TestClient, headers: dict[str, str], live_id: int) -> dict[str, Any]:
    answer = client.get(f"{API}/live/{live_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def settled(client: TestClient, headers: dict[str, str], live_id: int, *,
            timeout: float = 30) -> dict[str, Any]:
    """The session once it stopped and its recording is kept, empty or failed."""
    wait_for(lambda: session(client, headers, live_id)["recording_state"]
             in ("kept", "empty", "failed"), timeout=timeout, what="the recording to settle")
    return session(client, headers, live_id)


def test_live_is_unavailable_without_a_streaming_server(
        client: TestClient, admin: dict[str, str]) -> None:
    target = station(client, admin, "Trạm A")
    answer = client.post(f"{API}/live", headers=admin, json={"station_ids": [target["id"]]})
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "live_unavailable"
    assert answer.json()["detail"].startswith("Chưa phát trực tiếp được")


def test_a_session_plays_its_hidden_mount_on_its_stations_only(
        client: TestClient, runtime: Runtime, admin: dict[str, str],
        mounts: FileMounts) -> None:
    a, b = (station(client, admin, name) for name in ("Trạm A", "Trạm B"))
    started = start(client, admin, station_ids=[a["id"]])
    live_id, mount = started["id"], started["mount"]
    assert re.fullmatch(rf"live-{live_id}-[0-9a-f]{{12}}\.ogg", mount)
    assert started["ingest_url"].startswith(
        f"http://testserver{API}/live/{live_id}/ingest?key=wcl_")
    assert started["stop_url"].startswith(f"http://testserver{API}/live/{live_id}/stop?key=")
    assert started["ws_path"] == f"{API}/live/{live_id}/ws"
    assert (started["state"], started["priority"], started["station_ids"]) == (
        "live", "emergency", [a["id"]])
    # the stream is the session's alone: not listed, not readable, not for a timetable
    assert client.get(f"{API}/streams", headers=admin).json()["total"] == 0
    assert client.get(f"{API}/streams/{started['stream_id']}", headers=admin).status_code == 404
    [row] = client.get(f"{API}/playbacks", headers=admin).json()["items"]
    assert (row["station_id"], row["stream_id"], row["bulletin_id"]) == (
        a["id"], started["stream_id"], None)
    with runtime.db.session() as db:
        found = db.get(Station, a["id"])
        assert found is not None
        found.relays = True
    with runtime.db.session() as db:
        found = db.get(Station, a["id"])
        assert found is not None
        plan = build_plan(session=db, station=found, now=utcnow(), late_grace=runtime.horizon,
                          horizon=runtime.horizon)
        [item] = plan.items
        assert item.relay is not None and item.relay.station_login
        assert item.relay.url == mounts.listen_url(mount) and item.preempt
        assert live_service.may_listen(db, mount, a["id"])
        assert live_service.may_listen(db, "/" + mount, a["id"])  # as Icecast names it
        assert not live_service.may_listen(db, mount, b["id"])
        assert not live_service.may_listen(db, "live-1-000000000000.ogg", a["id"])
    # the mount is fed (silence) before any source sends: agents find it there
    wait_for(lambda: (mounts.folder / mount).is_file()
             and (mounts.folder / mount).stat().st_size > 1000, timeout=10,
             what="the pusher to write the mount")

    wrong = client.post(f"{API}/live/{live_id}/stop", params={"key": "wcl_wrong"})
    assert (wrong.status_code, wrong.json()["code"]) == (403, "live_bad_key")
    unknown = client.post(f"{API}/live/99999/stop", params={"key": key_of(started)})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "live_not_found")
    stopped = client.post(f"{API}/live/{live_id}/stop", params={"key": key_of(started)})
    assert stopped.status_code == 200, stopped.text
    assert (stopped.json()["state"], stopped.json()["stop_reason"]) == ("stopped", "stopped")
    again = client.post(f"{API}/live/{live_id}/stop", headers=admin)
    assert again.status_code == 200 and again.json()["stopped_at"] == stopped.json()["stopped_at"]
    [row] = client.get(f"{API}/playbacks", headers=admin).json()["items"]
    assert (row["status"], row["reason"]) == ("cancelled", "live_ended: broadcast stopped")
    # the log page says it in words, as it does an agent's cut ("…by command <id>")
    for reason in (row["reason"], "live_ended: broadcast stopped by command 5f2a"):
        assert words.label(reason, zone="Asia/Ho_Chi_Minh", lang="vi") == (
            "Phiên phát trực tiếp đã kết thúc")
    with runtime.db.session() as db:
        assert not live_service.may_listen(db, mount, a["id"])
    assert settled(client, admin, live_id)["recording_state"] == "empty"  # nothing was said
    assert runtime.ingests.running() == []


def test_who_may_start_and_for_which_stations(
        client: TestClient, runtime: Runtime, admin: dict[str, str],
        mounts: FileMounts) -> None:
    own = station(client, admin, "Trạm phường 1")
    foreign = client.post(f"{API}/stations", headers=admin,
                          json={"name": "Trạm phường 9", "ward": "Phường 9"}).json()
    none = client.post(f"{API}/live", headers=admin, json={"station_ids": []})
    assert (none.status_code, none.json()["field"]) == (422, "station_ids")
    editor = client.post(f"{API}/live", headers=user(client, runtime, "editor"),
                         json={"station_ids": [own["id"]]})
    assert editor.status_code == 403
    limited = user(client, runtime, "approver", wards=("Phường 1",))
    outside = client.post(f"{API}/live", headers=limited,
                          json={"station_ids": [own["id"], foreign["id"]]})
    assert (outside.status_code, outside.json()["code"]) == (403, "outside_wards"), outside.text
    assert client.get(f"{API}/live", headers=admin).json()["total"] == 0  # nothing was made
    started = start(client, limited, station_ids=[own["id"]])
    viewer = user(client, runtime, "viewer")
    assert session(client, viewer, started["id"])["state"] == "live"
    assert client.post(f"{API}/live/{started['id']}/stop", headers=viewer).status_code == 403
    other = user(client, runtime, "approver", wards=("Phường 9",))
    assert client.post(f"{API}/live/{started['id']}/stop", headers=other).status_code == 403
    listed = client.get(f"{API}/live", headers=viewer, params={"live_only": True}).json()
    assert [s["id"] for s in listed["items"]] == [started["id"]]
    done = client.post(f"{API}/live/{started['id']}/stop", headers=limited)
    assert done.status_code == 200 and done.json()["stopped_by_id"] is not None
    assert client.get(f"{API}/live", headers=viewer,
                      params={"live_only": True}).json()["total"] == 0


def test_what_was_said_becomes_a_pending_bulletin(
        client: TestClient, admin: dict[str, str], mounts: FileMounts, speech: Path,
        speech_ogg: Path) -> None:
    target = station(client, admin, "Trạm A")
    started = start(client, admin, station_ids=[target["id"]], priority="priority")
    live_id = started["id"]
    bad = client.put(f"{API}/live/{live_id}/ingest", params={"key": "wcl_nope"}, content=b"x")
    assert (bad.status_code, bad.json()["code"]) == (403, "live_bad_key")
    sent = client.put(started["ingest_url"].removeprefix("http://testserver"),
                      content=speech_ogg.read_bytes())
    assert sent.status_code == 204, sent.text
    # the source ended: its decoder plays out what it has, then it counts as gone
    wait_for(lambda: not session(client, admin, live_id)["source_connected"], timeout=5,
             what="the source's decoder to finish")
    stopped = client.post(f"{API}/live/{live_id}/stop", headers=admin)
    assert stopped.status_code == 200, stopped.text
    done = settled(client, admin, live_id)
    assert done["recording_state"] == "kept", done
    bulletin = client.get(f"{API}/bulletins/{done['recording_bulletin_id']}",
                          headers=admin).json()
    assert bulletin["status"] == "pending" and bulletin["language"] == "vi"
    assert re.fullmatch(r"Phát trực tiếp \d\d:\d\d \d\d/\d\d/\d{4}", bulletin["title"])
    assert abs(bulletin["duration_ms"] - wav_duration_ms(speech)) < 300, bulletin
    late = client.put(started["ingest_url"].removeprefix("http://testserver"), content=b"x")
    assert (late.status_code, late.json()["code"]) == (409, "live_stopped")


def test_a_session_whose_source_is_gone_stops_itself(
        client: TestClient, admin: dict[str, str], mounts: FileMounts,
        speech_ogg: Path) -> None:
    """WARDCAST_LIVE_DROP_S (1 s here) after its source ended, with none back, it stops
    (`source_lost`) and keeps what was said."""
    target = station(client, admin, "Trạm A")
    started = start(client, admin, station_ids=[target["id"]])
    sent = client.put(started["ingest_url"].removeprefix("http://testserver"),
                      content=speech_ogg.read_bytes())
    assert sent.status_code == 204, sent.text
    ended = time.monotonic()
    done = settled(client, admin, started["id"])
    assert time.monotonic() - ended < 15
    assert (done["state"], done["stop_reason"], done["stopped_by_id"]) == (
        "stopped", "source_lost", None)
    assert done["recording_state"] == "kept"


def test_the_page_sends_by_websocket_with_its_login(
        client: TestClient, runtime: Runtime, admin: dict[str, str], mounts: FileMounts,
        speech: Path) -> None:
    webm = speech.with_name("speech-live.webm")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(speech), "-c:a", "libopus",
                    "-f", "webm", str(webm)], check=True)
    target = station(client, admin, "Trạm A")
    started = start(client, admin, station_ids=[target["id"]])
    path = started["ws_path"]
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(path):
        pass  # no login
    assert refused.value.code == 4403
    cookie = admin["Authorization"].removeprefix("Bearer ")
    client.cookies.set("wardcast_session", cookie)
    try:
        with pytest.raises(WebSocketDisconnect) as cross, client.websocket_connect(
                path, headers={"origin": "https://elsewhere.example"}):
            pass
        assert cross.value.code == 4403
        with client.websocket_connect(path, headers={"origin": "http://testserver"}) as socket:
            data = webm.read_bytes()
            for start_at in range(0, len(data), 4000):  # MediaRecorder's chunks
                socket.send_bytes(data[start_at:start_at + 4000])
            # all of it decoded before the page closes its socket (the test client cancels
            # what the route still does once it has)
            wait_for(lambda: session(client, admin, started["id"])["said_s"]
                     >= wav_duration_ms(speech) / 1000 - 0.1, timeout=10,
                     what="the source's audio to be on air")
            assert session(client, admin, started["id"])["source_connected"]
    finally:
        client.cookies.clear()
    assert client.post(f"{API}/live/{started['id']}/stop", headers=admin).status_code == 200
    done = settled(client, admin, started["id"])
    assert done["recording_state"] == "kept", done
    bulletin = client.get(f"{API}/bulletins/{done['recording_bulletin_id']}",
                          headers=admin).json()
    assert abs(bulletin["duration_ms"] - wav_duration_ms(speech)) < 300, bulletin
    with pytest.raises(WebSocketDisconnect) as late, client.websocket_connect(
            path, headers=admin):
        pass
    assert late.value.code == 4409


def wav_header_never_finished() -> bytes:
    """The 44 bytes Python's wave module writes before any frame (sizes 0, never updated by
    a process that was killed): PCM s16le mono 48 kHz."""
    return (b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, 48_000, 96_000, 2, 16) + b"data" + struct.pack("<I", 0))


def test_sessions_outlive_no_scheduler(client: TestClient, runtime: Runtime,
                                       admin: dict[str, str], mounts: FileMounts,
                                       speech: Path, speech_ogg: Path) -> None:
    """Shutting down stops this process's sessions (`scheduler_stopped`); a session a killed
    process left open is stopped at the next start (`scheduler_restarted`), and what it
    recorded is kept either way."""
    target = station(client, admin, "Trạm A")
    running = start(client, admin, station_ids=[target["id"]])
    sent = client.put(running["ingest_url"].removeprefix("http://testserver"),
                      content=speech_ogg.read_bytes())
    assert sent.status_code == 204
    wait_for(lambda: not session(client, admin, running["id"])["source_connected"], timeout=5,
             what="the source's decoder to finish")
    control.shut_down(runtime)
    done = session(client, admin, running["id"])
    assert (done["stop_reason"], done["recording_state"]) == ("scheduler_stopped", "kept")

    orphan = start(client, admin, station_ids=[target["id"]])
    assert runtime.ingests.close(orphan["id"]) is None  # its transcoder died with its process
    pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", str(speech), "-f", "s16le", "-ac", "1",
                          "-ar", "48000", "-"], capture_output=True, check=True).stdout
    control.recording_path(runtime, orphan["mount"]).write_bytes(wav_header_never_finished()
                                                                 + pcm)
    control.recover(runtime)
    done = session(client, admin, orphan["id"])
    assert (done["state"], done["stop_reason"]) == ("stopped", "scheduler_restarted")
    assert done["recording_state"] == "kept", done
    bulletin = client.get(f"{API}/bulletins/{done['recording_bulletin_id']}",
                          headers=admin).json()
    assert abs(bulletin["duration_ms"] - wav_duration_ms(speech)) < 300, bulletin
    [row] = [r for r in client.get(f"{API}/playbacks", headers=admin).json()["items"]
             if r["broadcast_id"] == orphan["broadcast_id"]]
    assert (row["status"], row["reason"]) == ("cancelled", "live_ended: broadcast stopped")
