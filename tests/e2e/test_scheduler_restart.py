"""The scheduler's jobs come back with it: a slot that fell due while it was down is settled
once, on purpose, after the restart (APScheduler jobs are rebuilt, late runs coalesced)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.server import Server, upload_approved, wait_status
from wardcast.protocol import to_wire

pytestmark = pytest.mark.e2e


def test_a_slot_due_while_the_scheduler_was_down_is_settled_once_after(
        tmp_path: Path, speech_mp3: Path) -> None:
    server = Server(tmp_path / "server").setup(
        missed_grace_s="1", offline_grace_s="2", watchdog_interval_s="0.5").start()
    try:
        api = server.api()
        bulletin_id = int(upload_approved(api, speech_mp3, "Bản tin trưa")["id"])
        station = api.post("/stations", json={"name": "Trạm tắt máy", "ward": "P1"}).json()
        slot = datetime.now(UTC) + timedelta(seconds=5)
        timetable = api.post("/timetables", json={
            "bulletin_id": bulletin_id, "station_ids": [station["id"]],
            "starts_at": to_wire(slot)})
        assert timetable.status_code == 201, timetable.text
        rows = api.get("/playbacks", params={"station_id": station["id"]}).json()
        assert [r["status"] for r in rows["items"]] == ["planned"]
        playback_id = int(rows["items"][0]["id"])

        server.kill()  # SIGKILL before the slot: no job runs, nothing is written
        time.sleep(max(0.0, (slot - datetime.now(UTC)).total_seconds()) + 4)
        server.start()  # same data directory: the jobs are rebuilt from the database

        api = server.api()
        [row] = wait_status(api, [playback_id], {"missed"}, timeout=20)
        assert row["reason"], row
        time.sleep(2)  # several more watchdog runs: the final state does not move
        again = api.get("/playbacks", params={"station_id": station["id"]}).json()
        assert [(r["id"], r["status"], r["reason"]) for r in again["items"]] == [
            (playback_id, "missed", row["reason"])]
    finally:
        server.stop()
