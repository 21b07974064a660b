"""The activity report of real playing: `wardcast serve`, real agents writing what they play
to WAV files, and a station that never connected; the report's figures against the files."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.audio import wav_duration_ms
from tests.support.procs import wait_for
from tests.support.server import Server, start_agent, upload_approved, wait_status
from wardcast.protocol import to_wire

pytestmark = pytest.mark.e2e
FINAL = {"played", "failed", "missed", "interrupted", "skipped", "cancelled"}


def test_the_report_counts_what_the_agents_played(server: Server, tmp_path: Path,
                                                   speech_mp3: Path) -> None:
    api = server.api()
    bulletin = upload_approved(api, speech_mp3, "Thông báo tiêm chủng")
    stations = [api.post("/stations", json={"name": name, "ward": ward}).json()
                for name, ward in (("Trạm chợ Tân Lợi", "Phường Tân Lợi"),
                                   ("Trạm buôn Ea Tam", "Phường Ea Tam"),
                                   ("Trạm chưa lắp", "Phường Ea Tam"))]
    agents = {st["id"]: start_agent(server, station_id=st["id"], token=st["token"],
                                    workdir=tmp_path / "agents") for st in stations[:2]}
    for sid in agents:
        wait_for(lambda sid=sid: api.get(f"/stations/{sid}").json()["online"], timeout=30,
                 what=f"station {sid} online")
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    gap = timedelta(milliseconds=int(bulletin["duration_ms"]) + 2000)
    for at in (first, first + gap):
        answer = api.post("/timetables", json={
            "bulletin_id": bulletin["id"], "station_ids": [st["id"] for st in stations],
            "starts_at": to_wire(at)})
        assert answer.status_code == 201, answer.text
    ids = [r["id"] for r in api.get("/playbacks", params={"limit": 100}).json()["items"]]
    assert len(ids) == 6
    wait_status(api, ids, FINAL, timeout=90)

    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    span = {"from": (today - timedelta(days=1)).isoformat(),
            "to": (today + timedelta(days=1)).isoformat()}
    report = api.get("/reports/activity", params=span)
    assert report.status_code == 200, report.text
    by_id = {s["station_id"]: s for s in report.json()["stations"]}
    for sid, (_, played) in agents.items():
        wavs = sorted(played.glob("*.wav"))
        assert len(wavs) == 2 and by_id[sid]["played"] == 2, (wavs, by_id[sid])
        on_air = sum(wav_duration_ms(w) for w in wavs) / 1000
        assert by_id[sid]["on_air_seconds"] == pytest.approx(on_air, abs=1), by_id[sid]
        assert by_id[sid]["by_language"] == {"vi": pytest.approx(on_air, abs=1)}
        assert by_id[sid]["bulletins"] == 1 and 0 < by_id[sid]["availability"] <= 1
    absent = by_id[stations[2]["id"]]
    assert (absent["played"], absent["missed"], absent["availability"]) == (0, 2, 0.0)
    assert absent["not_played_by_reason"] == {"plan_not_delivered": 2}
    totals = report.json()["totals"]
    assert (totals["played"], totals["missed"], totals["bulletins"]) == (4, 2, 1)

    sheet = api.get("/reports/activity", params={**span, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(sheet.content.decode("utf-8-sig"), newline="")))
    assert {r["Trạm"] for r in rows if r["Cấp"] == "Trạm"} == {st["name"] for st in stations}
    assert int(rows[-1]["Đã phát"]) == 4
    for proc, _ in agents.values():
        proc.stop()
