"""Playbacks at risk through the API: the station lacks the plan or the media shortly before
the slot (or after it); the filter combines with the others, pages, exports and keeps to the
user's wards; each station says how many of its playbacks are at risk."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import update

from scheduler.playbacks.models import Playback
from scheduler.runtime import Runtime
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD, approved_bulletin, station
from wardcast.protocol import to_wire


def _slots(client: TestClient, headers: dict[str, str], bulletin_id: int, station_id: int,
           minutes: list[float]) -> list[int]:
    """Plan one slot this many minutes from now on a station; return the playback ids."""
    now = datetime.now(UTC).replace(microsecond=0)
    ids = []
    for offset in minutes:
        answer = client.post("/api/v1/timetables", headers=headers, json={
            "bulletin_id": bulletin_id, "station_ids": [station_id],
            "starts_at": to_wire(now + timedelta(minutes=offset))})
        assert answer.status_code == 201, answer.text
        rows = client.get("/api/v1/playbacks", headers=headers, params={
            "station_id": station_id}).json()["items"]
        ids.append(max(r["id"] for r in rows))  # the newest
    return ids


def _set(runtime: Runtime, playback_id: int, **values: object) -> None:
    with runtime.db.session() as session:
        session.execute(update(Playback).where(Playback.id == playback_id).values(**values))
        session.commit()


def _limited(client: TestClient, runtime: Runtime, ward: str) -> dict[str, str]:
    username = f"viewer-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD,
                          role="viewer", wards=[ward])
    token = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_at_risk_lists_what_a_station_is_not_ready_for(client: TestClient, runtime: Runtime,
                                                       admin: dict[str, str],
                                                       speech: Path) -> None:
    bulletin_id = approved_bulletin(client, admin, speech)
    here = station(client, admin, "Trạm Tân Lợi")
    there = client.post("/api/v1/stations", headers=admin,
                        json={"name": "Trạm Ea Tam", "ward": "Phường Ea Tam"}).json()
    # no agent runs: every playback stays `planned` until the test moves it
    no_plan, no_media, ready, later, past, gone = _slots(
        client, admin, bulletin_id, here["id"], [5, 6, 7, 60, 90, 120])
    [theirs] = _slots(client, admin, bulletin_id, there["id"], [8])
    _set(runtime, no_media, status="delivered")  # it has the plan, not the audio
    _set(runtime, ready, status="ready")
    # a slot already past and still open (its station offline, within the grace)
    _set(runtime, past, scheduled_at=datetime.now(UTC) - timedelta(seconds=20))
    _set(runtime, gone, scheduled_at=datetime.now(UTC) - timedelta(minutes=3), status="missed",
         reason="late")

    def listed(headers: dict[str, str] = admin, **params: object) -> tuple[list[int], int]:
        answer = client.get("/api/v1/playbacks", headers=headers,
                            params={"at_risk": "true", **params})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return [r["id"] for r in body["items"]], body["total"]

    assert listed() == ([past, no_plan, no_media, theirs], 4)  # by slot
    assert listed(station_id=here["id"]) == ([past, no_plan, no_media], 3)
    assert listed(status="delivered") == ([no_media], 1)
    assert listed(limit=2, offset=1) == ([no_plan, no_media], 4)
    assert listed(_limited(client, runtime, "Phường Ea Tam")) == ([theirs], 1)
    assert client.get("/api/v1/playbacks", headers=admin).json()["total"] == 7  # not filtered
    exported = client.get("/api/v1/playbacks", headers=admin,
                          params={"at_risk": "true", "format": "csv"})
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [int(r["id"]) for r in rows] == [past, no_plan, no_media, theirs]
    assert {r["status"] for r in rows} == {"planned", "delivered"}

    counts = {s["id"]: s["at_risk"] for s in
              client.get("/api/v1/stations", headers=admin).json()["items"]}
    assert counts == {here["id"]: 3, there["id"]: 1}
    assert client.get(f"/api/v1/stations/{here['id']}", headers=admin).json()["at_risk"] == 3

    runtime.settings.at_risk_lead_s = 0  # only what is already past its slot
    assert listed() == ([past], 1)
    runtime.settings.at_risk_lead_s = 3600  # the slot an hour ahead too
    assert listed(station_id=here["id"]) == ([past, no_plan, no_media, later], 4)


def test_a_bad_at_risk_value_is_refused_clearly(client: TestClient,
                                                admin: dict[str, str]) -> None:
    answer = client.get("/api/v1/playbacks", headers=admin, params={"at_risk": "maybe"})
    assert answer.status_code == 422
    assert (answer.json()["code"], answer.json()["field"]) == ("invalid", "at_risk")
    assert answer.json()["detail"].startswith("Dữ liệu không hợp lệ")
