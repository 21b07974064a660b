"""Live voice end to end: `wardcast serve` with its embedded Icecast, two real agents with
file output, and ffmpeg speaking into a session's ingest URL. Both loudspeakers play the
speech (cross-correlated with it) within 2 s, stop within 2 s of the stop, cut the normal
bulletin that was playing, and what was said becomes a pending bulletin; a station the
session is not for cannot listen to its mount. The page's WebSocket works through the real
server too."""

from __future__ import annotations

import subprocess
import time
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.e2e.test_programmes import online_station
from tests.support.audio import best_lag, envelope, wav_duration_ms
from tests.support.procs import Proc, wait_for
from tests.support.server import Server, upload_approved, wait_status

pytestmark = pytest.mark.e2e
FINAL = {"played", "failed", "missed", "skipped", "interrupted", "cancelled"}
FRAME_S = 0.01  # tests.support.audio.envelope's frames: 480 samples at 48 kHz


def pcm_of(path: Path) -> bytes:
    """A file's audio as the agents write it: s16le mono 48 kHz."""
    return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1",
                           "-ar", "48000", "-"], capture_output=True, check=True).stdout


def wav_pcm(path: Path) -> bytes:
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 48000)
        return wav.readframes(wav.getnframes())


def listens(url: str, login: tuple[str, str]) -> int:
    """The streaming server's answer to a listener with this login."""
    with httpx.stream("GET", url, auth=login, timeout=10) as answer:
        return answer.status_code


def rows_of(api: httpx.Client, broadcast_id: int) -> list[dict[str, Any]]:
    return [r for r in api.get("/playbacks", params={"limit": 1000}).json()["items"]
            if r["broadcast_id"] == broadcast_id]


def test_live_voice_reaches_two_agents_and_is_kept(server: Server, tmp_path: Path,
                                                   speech: Path) -> None:
    api = server.api()
    long_speech = tmp_path / "long.wav"  # ~35 s: still playing when the session starts
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "3", "-i", str(speech),
                    str(long_speech)], check=True)
    normal = upload_approved(api, long_speech, "Bản tin thường")
    a, played_a = online_station(api, server, tmp_path / "agents", "Trạm A")
    b, played_b = online_station(api, server, tmp_path / "agents", "Trạm B")
    c = api.post("/stations", json={"name": "Trạm C", "ward": "P1"}).json()  # not spoken to
    # spoken to, no agent: its login is free for the test (Icecast lets a login in once)
    d = api.post("/stations", json={"name": "Trạm D", "ward": "P1"}).json()
    playing = api.post("/broadcasts", json={"bulletin_id": normal["id"], "station_ids": [a["id"]],
                                            "priority": "normal"})
    assert playing.status_code == 201, playing.text
    wait_status(api, playing.json()["playback_ids"], {"playing"}, timeout=20)

    asked = datetime.now(UTC)
    made = api.post("/live", json={"station_ids": [a["id"], b["id"], d["id"]]})
    assert made.status_code == 201, made.text
    live = made.json()
    ids = [r["id"] for r in rows_of(api, live["broadcast_id"]) if r["station_id"] != d["id"]]
    assert len(ids) == 2
    for row in wait_status(api, ids, {"playing"}, timeout=15):  # on air, silence until speech
        assert datetime.fromisoformat(str(row["started_at"])) - asked <= timedelta(seconds=2), row

    mount = f"http://127.0.0.1:{server.env['WARDCAST_LIVE_PORT']}/{live['mount']}"
    assert listens(mount, (str(d["id"]), str(d["token"]))) == 200
    assert listens(mount, (str(c["id"]), str(c["token"]))) in (401, 403)
    assert listens(mount, (str(d["id"]), "wcs_not-its-token")) in (401, 403)

    pushed = datetime.now(UTC)
    source = Proc(["ffmpeg", "-nostdin", "-v", "error", "-re", "-i", str(speech), "-c:a",
                   "libopus", "-page_duration", "20000", "-f", "ogg", "-method", "PUT",
                   live["ingest_url"]], log=tmp_path / "source.log").start()
    assert source.popen is not None and source.popen.wait(60) == 0, source.output()
    wait_for(lambda: not api.get(f"/live/{live['id']}").json()["source_connected"], timeout=5,
             what="the source's last audio to be on air")
    time.sleep(1.0)  # the speech's last second reaches the loudspeakers (latency ≤ 2 s)
    stopped_at = datetime.now(UTC)
    stop = api.post(f"/live/{live['id']}/stop")
    assert stop.status_code == 200 and stop.json()["state"] == "stopped", stop.text

    for row in wait_status(api, ids, FINAL, timeout=15):
        assert row["status"] == "interrupted", row
        assert str(row["reason"]).startswith("live_ended: broadcast stopped by command"), row
        finished = datetime.fromisoformat(str(row["finished_at"]))
        assert finished - stopped_at <= timedelta(seconds=2), row
    [cut] = api.get("/playbacks", params={"bulletin_id": normal["id"]}).json()["items"]
    assert cut["status"] == "interrupted" and str(cut["reason"]).startswith("preempted"), cut
    assert listens(mount, (str(d["id"]), str(d["token"]))) in (401, 403, 404)

    source_envelope = envelope(pcm_of(speech))
    rows = sorted((r for r in rows_of(api, live["broadcast_id"]) if r["id"] in ids),
                  key=lambda r: r["station_id"])
    for played, row in zip((played_a, played_b), rows, strict=True):
        [wav] = played.glob(f"bc{live['broadcast_id']}-0_*.wav")
        output = envelope(wav_pcm(wav))
        assert len(output) > len(source_envelope), (wav, len(output))
        lag, score = best_lag(output, source_envelope,
                              range(0, len(output) - len(source_envelope) + 1))
        assert score > 0.8, (wav.name, lag, score)
        heard = datetime.fromisoformat(str(row["started_at"])) + timedelta(seconds=lag * FRAME_S)
        assert timedelta(0) < heard - pushed <= timedelta(seconds=2), (wav.name, heard, pushed)

    wait_for(lambda: api.get(f"/live/{live['id']}").json()["recording_state"] != "processing",
             timeout=30, what="the recording to be kept")
    kept = api.get(f"/live/{live['id']}").json()
    assert kept["recording_state"] == "kept", kept
    bulletin = api.get(f"/bulletins/{kept['recording_bulletin_id']}").json()
    assert bulletin["status"] == "pending" and bulletin["title"].startswith("Phát trực tiếp")
    assert abs(bulletin["duration_ms"] - wav_duration_ms(speech)) < 500, bulletin


def test_the_page_sends_its_microphone_through_wardcast_serve(server: Server, tmp_path: Path,
                                                              speech: Path) -> None:
    """The page's WebSocket through the real server (uvicorn's protocols, the app's
    middleware): logged in by the login cookie from the page's own origin, refused from
    another; what it sends is on air and recorded."""
    api = server.api()
    target = api.post("/stations", json={"name": "Trạm A", "ward": "P1"}).json()
    made = api.post("/live", json={"station_ids": [target["id"]], "priority": "priority"})
    assert made.status_code == 201, made.text
    live = made.json()
    webm = tmp_path / "mic.webm"  # what MediaRecorder sends: WebM/Opus
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(speech), "-c:a", "libopus", "-f", "webm",
                    str(webm)], check=True)
    socket_url = f"ws://127.0.0.1:{server.port}{live['ws_path']}"
    page = {"Cookie": f"wardcast_session={server.token}", "Origin": server.base}
    with pytest.raises(InvalidStatus) as refused:
        connect(socket_url, additional_headers={**page, "Origin": "https://elsewhere.example"})
    assert refused.value.response.status_code == 403
    with connect(socket_url, additional_headers=page) as socket:
        data = webm.read_bytes()
        for start in range(0, len(data), 2000):  # MediaRecorder's chunks, a little early
            socket.send(data[start:start + 2000])
            time.sleep(0.02)
        wait_for(lambda: api.get(f"/live/{live['id']}").json()["said_s"]
                 >= wav_duration_ms(speech) / 1000 - 0.1, timeout=15,
                 what="what the page sent to be on air")
    assert api.post(f"/live/{live['id']}/stop").status_code == 200
    wait_for(lambda: api.get(f"/live/{live['id']}").json()["recording_state"] != "processing",
             timeout=30, what="the recording to be kept")
    kept = api.get(f"/live/{live['id']}").json()
    assert kept["recording_state"] == "kept", kept
    bulletin = api.get(f"/bulletins/{kept['recording_bulletin_id']}").json()
    assert abs(bulletin["duration_ms"] - wav_duration_ms(speech)) < 500, bulletin
