"""Emergencies with real processes: they cut in, start within a second, reach late agents."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.audio import speech_wav, wav_duration_ms
from tests.support.procs import wait_for
from tests.support.server import Server, start_agent, upload_approved, wait_status
from wardcast.protocol import to_wire

pytestmark = pytest.mark.e2e
FINAL = {"played", "failed", "missed", "skipped", "interrupted", "cancelled"}


def test_emergency_cuts_in_and_reaches_a_late_agent(server: Server, tmp_path: Path,
                                                    speech: Path) -> None:
    api = server.api()
    normal = upload_approved(api, speech, "Bản tin thường")
    alarm = upload_approved(api, speech_wav(tmp_path / "alarm.wav", text="Cảnh báo lũ quét."),
                      "Cảnh báo khẩn")
    stations = [api.post("/stations", json={"name": f"Trạm {n}", "ward": "P1"}).json()
                for n in (1, 2, 3)]
    agents = {}
    for st in stations[:2]:
        agents[st["id"]] = start_agent(server, station_id=st["id"], token=st["token"],
                                       workdir=tmp_path / "agents")
    for st in stations[:2]:
        wait_for(lambda sid=st["id"]: api.get(f"/stations/{sid}").json()["online"],
                 timeout=30, what="online")
    slot = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    api.post("/timetables", json={"bulletin_id": normal["id"],
                                  "station_ids": [s["id"] for s in stations[:2]],
                                  "starts_at": to_wire(slot)}).raise_for_status()
    time.sleep(max(0.0, (slot - datetime.now(UTC)).total_seconds()) + 2.0)

    asked = datetime.now(UTC)
    made = api.post("/broadcasts", json={"bulletin_id": alarm["id"],
                                         "station_ids": [s["id"] for s in stations],
                                         "valid_minutes": 2})
    assert made.status_code == 201, made.text
    ids = made.json()["playback_ids"]
    online_rows = [r for r in api.get("/playbacks", params={"limit": 100}).json()["items"]
                   if r["id"] in ids and r["station_id"] != stations[2]["id"]]
    for row in wait_status(api, [r["id"] for r in online_rows], {"played"}, timeout=30):
        started = datetime.fromisoformat(str(row["started_at"]))
        assert (started - asked).total_seconds() <= 1.0, row
    cut = api.get("/playbacks", params={"bulletin_id": normal["id"]}).json()["items"]
    assert {r["status"] for r in cut} == {"interrupted"}
    assert all(str(r["reason"]).startswith("preempted") for r in cut)
    for st in stations[:2]:
        wavs = sorted(agents[st["id"]][1].glob("*.wav"), key=lambda p: p.stat().st_mtime)
        assert len(wavs) == 2
        first_ms = wav_duration_ms(wavs[0])
        assert 1500 < first_ms < int(str(normal["duration_ms"])) - 1000  # the cut
        assert abs(wav_duration_ms(wavs[1]) - int(str(alarm["duration_ms"]))) <= 50

    late = stations[2]
    proc, played = start_agent(server, station_id=late["id"], token=late["token"],
                               workdir=tmp_path / "agents")
    late_row = next(r["id"] for r in api.get("/playbacks", params={"limit": 100}).json()["items"]
                    if r["id"] in ids and r["station_id"] == late["id"])
    assert wait_status(api, [late_row], FINAL, timeout=30)[0]["status"] == "played"
    assert len(list(played.glob("*.wav"))) == 1

    command = api.post(f"/stations/{late['id']}/commands",
                       json={"type": "volume", "args": {"percent": 80}})
    assert command.status_code == 202
    wait_for(lambda: api.get(f"/stations/{late['id']}/commands").json()[0]["ok"] is True,
             timeout=15, what="the agent to answer the command")
    proc.stop()
    for proc_, _ in agents.values():
        proc_.stop()
