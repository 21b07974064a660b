"""Upload → timetable → MQTT → real agents play → ledger, with real processes throughout.

Runs against a real Mosquitto (dynamic security, as deploy/ ships it) and against the
embedded broker. The agents write what they play to WAV files; those are what we compare.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.audio import integrated_loudness, wav_duration_ms
from tests.support.mosquitto import Mosquitto
from tests.support.procs import Proc, wait_for
from tests.support.server import Server, start_agent, upload_approved, wait_status
from wardcast.protocol import to_wire

pytestmark = pytest.mark.e2e
TARGET_LUFS = -16.0


@pytest.fixture(params=["mosquitto", "embedded"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    external: str | None = None
    broker: Mosquitto | None = None
    if request.param == "mosquitto":
        broker = Mosquitto(tmp_path / "mosquitto").setup().start()
        external = broker.url
    running = Server(tmp_path / "server").setup(
        external_mqtt_url=external, missed_grace_s="3", offline_grace_s="6",
        watchdog_interval_s="0.5").start()
    yield running
    running.stop()
    if broker:
        broker.stop()


def _online(api: httpx.Client, station_id: int) -> bool:
    return bool(api.get(f"/stations/{station_id}").json()["online"])


def test_bulletins_play_on_time_everywhere_and_a_stopped_station_is_missed(
        server: Server, tmp_path: Path, speech_mp3: Path, speech_m4a: Path) -> None:
    api = server.api()
    quiet = upload_approved(api, speech_mp3, "Thông báo (MP3, nhỏ)")
    loud = upload_approved(api, speech_m4a, "Thông báo (M4A, to)")
    assert float(str(quiet["source_loudness_lufs"])) < float(str(loud["source_loudness_lufs"])) - 10
    stations = [api.post("/stations", json={"name": f"Phường {n}", "ward": f"P{n}"}).json()
                for n in (1, 2, 3)]
    agents: dict[int, tuple[Proc, Path]] = {}
    for st in stations:
        agents[st["id"]] = start_agent(server, station_id=st["id"], token=st["token"],
                                       workdir=tmp_path / "agents")
    for st in stations:
        wait_for(lambda sid=st["id"]: _online(api, sid), timeout=30, what=f"station {st['id']}")
    stopped = stations[2]["id"]
    agents[stopped][0].stop()
    wait_for(lambda: not _online(api, stopped), timeout=15, what="the stopped agent to be offline")

    first_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    second_at = first_at + timedelta(milliseconds=int(str(quiet["duration_ms"])) + 2000)
    ids = [st["id"] for st in stations]
    for bulletin, at in ((quiet, first_at), (loud, second_at)):
        answer = api.post("/timetables", json={"bulletin_id": bulletin["id"], "station_ids": ids,
                                               "starts_at": to_wire(at), "priority": "normal"})
        assert answer.status_code == 201, answer.text

    rows = api.get("/playbacks", params={"limit": 100}).json()["items"]
    assert len(rows) == 6
    playing = [r["id"] for r in rows if r["station_id"] != stopped]
    missed = [r["id"] for r in rows if r["station_id"] == stopped]
    done = wait_status(api, playing, {"played", "failed", "missed", "interrupted", "skipped"},
                       timeout=90)
    for row in done:
        assert row["status"] == "played", row
        started = datetime.fromisoformat(str(row["started_at"]))
        scheduled = datetime.fromisoformat(str(row["scheduled_at"]))
        assert abs((started - scheduled).total_seconds()) <= 0.25, row
    for row in wait_status(api, missed, {"missed"}, timeout=30):
        assert row["reason"]

    by_bulletin = {quiet["id"]: quiet, loud["id"]: loud}
    for st in stations[:2]:
        wavs = sorted(agents[st["id"]][1].glob("*.wav"))
        assert len(wavs) == 2, wavs
        for row in (r for r in done if r["station_id"] == st["id"]):
            wav = next(w for w in wavs if f"pb{row['id']}_" in w.name)
            bulletin = by_bulletin[row["bulletin_id"]]
            assert abs(wav_duration_ms(wav) - int(str(bulletin["duration_ms"]))) <= 50
            assert abs(integrated_loudness(wav) - TARGET_LUFS) <= 1.0
    assert not list(agents[stopped][1].glob("*.wav"))
    csv = api.get("/playbacks", params={"format": "csv"}).text.strip().splitlines()
    assert len(csv) == 7 and sum(",played," in line for line in csv) == 4
    for proc, _ in agents.values():
        proc.stop()
    time.sleep(0)
