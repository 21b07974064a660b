"""A relay on a timetable, end to end: `wardcast serve`, a real agent with file output and a
live stream behind a login; the agent relays it for the span and the ledger says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.test_programmes import online_station, playback_of
from tests.support.audio import speech_wav, wav_duration_ms
from tests.support.server import Server, wait_status
from tests.support.stream_source import StreamSource
from wardcast.protocol import to_wire

pytestmark = pytest.mark.e2e
FINAL = {"played", "failed", "missed", "skipped", "interrupted", "cancelled"}
SPAN_S = 10


def test_a_timetable_relay_plays_its_span_on_a_real_agent(server: Server,
                                                          tmp_path: Path) -> None:
    api = server.api()
    audio = speech_wav(tmp_path / "source.wav")
    with StreamSource(audio, folder=tmp_path / "source",
                      credentials=("phuong-7", "mật khẩu:7")) as source:
        stream = api.post("/streams", json={"name": "VOV1 Thời sự", "url": source.url,
                                            "username": "phuong-7", "password": "mật khẩu:7"})
        assert stream.status_code == 201, stream.text
        station, played = online_station(api, server, tmp_path / "agents", "Trạm tiếp âm")
        slot = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=12)
        created = api.post("/timetables", json={
            "stream_id": stream.json()["id"], "duration_s": SPAN_S,
            "station_ids": [station["id"]], "starts_at": to_wire(slot)})
        assert created.status_code == 201, created.text
        [row] = api.get("/playbacks", params={"station_id": station["id"]}).json()["items"]
        [done] = wait_status(api, [int(str(row["id"]))], FINAL, timeout=60)
    assert (done["status"], done["reason"]) == ("played", "played to the end"), done
    assert done["stream_id"] == stream.json()["id"] and done["bulletin_id"] is None
    started = datetime.fromisoformat(str(done["started_at"]))
    finished = datetime.fromisoformat(str(done["finished_at"]))
    assert abs(started - slot) <= timedelta(seconds=1), (started, slot)
    assert abs(finished - started - timedelta(seconds=SPAN_S)) <= timedelta(milliseconds=500)
    [wav] = list(played.glob("*.wav"))
    assert playback_of(wav) == done["id"]
    assert abs(wav_duration_ms(wav) - SPAN_S * 1000) <= 500
