"""A programme played by a real agent: its items in order, each after the set gap."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.audio import speech_wav, wav_duration_ms
from tests.support.procs import wait_for
from tests.support.server import Server, start_agent, upload_approved, wait_status
from wardcast.protocol import to_wire

pytestmark = pytest.mark.e2e
FINAL = {"played", "failed", "missed", "skipped", "interrupted", "cancelled"}
WORDS = ("Một.", "Hai.", "Ba.", "Bốn.")
GAPS_MS = (2000, 1000, 0)  # the last pair plays back to back
TOLERANCE = timedelta(milliseconds=250)
BACK_TO_BACK = timedelta(milliseconds=40)


def online_station(api: httpx.Client, server: Server, workdir: Path,
                   name: str) -> tuple[dict[str, object], Path]:
    """Register a station, start its agent with file output and wait until it is online."""
    made: dict[str, object] = api.post("/stations", json={"name": name, "ward": "P1"}).json()
    _proc, played = start_agent(server, station_id=int(str(made["id"])),
                                token=str(made["token"]), workdir=workdir)
    wait_for(lambda: api.get(f"/stations/{made['id']}").json()["online"], timeout=30,
             what="the agent to come online")
    return made, played


def playback_of(wav: Path) -> int:
    """Read the playback id from a WAV name (pb<id>_<start>Z.wav)."""
    found = re.match(r"pb(\d+)_", wav.name)
    assert found, wav.name
    return int(found.group(1))


def test_programme_plays_its_items_in_order_with_the_gaps(server: Server, tmp_path: Path
                                                          ) -> None:
    api = server.api()
    bulletins = [upload_approved(api, speech_wav(tmp_path / f"{n}.wav", text=word), word)
                 for n, word in enumerate(WORDS)]
    programme = api.post("/programmes", json={"title": "Đếm", "items": [
        {"bulletin_id": b["id"], "gap_after_ms": gap}
        for b, gap in zip(bulletins, (*GAPS_MS, 0), strict=True)]})
    assert programme.status_code == 201, programme.text
    station, played = online_station(api, server, tmp_path / "agents", "Trạm đếm")
    slot = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=12)
    api.post("/timetables", json={"programme_id": programme.json()["id"],
                                  "station_ids": [station["id"]],
                                  "starts_at": to_wire(slot)}).raise_for_status()
    rows = api.get("/playbacks", params={"programme_id": programme.json()["id"]}).json()["items"]
    assert [r["programme_position"] for r in rows] == [0, 1, 2, 3]
    rows = sorted(wait_status(api, [r["id"] for r in rows], FINAL, timeout=60),
                  key=lambda r: int(str(r["programme_position"])))
    assert [r["status"] for r in rows] == ["played"] * 4, rows
    started = [datetime.fromisoformat(str(r["started_at"])) for r in rows]
    durations = [timedelta(milliseconds=int(str(b["duration_ms"]))) for b in bulletins]
    assert abs(started[0] - slot) <= TOLERANCE
    for n, gap in enumerate(GAPS_MS):
        expected = durations[n] + timedelta(milliseconds=gap)
        assert abs(started[n + 1] - started[n] - expected) <= TOLERANCE, (n, rows)
    # Back to back, the next item's decoder was started while the previous one played: it
    # follows at once, not a decoder start-up later (~50 ms idle, ~200 ms on a busy machine).
    assert started[3] - started[2] - durations[2] <= BACK_TO_BACK, rows
    finished = [datetime.fromisoformat(str(r["finished_at"])) for r in rows]
    assert finished[2] <= started[3], rows  # never overlapping
    wavs = sorted(played.glob("*.wav"), key=lambda p: p.stat().st_mtime)
    assert [playback_of(w) for w in wavs] == [r["id"] for r in rows]  # in order, none cut
    for wav, duration in zip(wavs, durations, strict=True):
        assert abs(wav_duration_ms(wav) - duration / timedelta(milliseconds=1)) <= 50
