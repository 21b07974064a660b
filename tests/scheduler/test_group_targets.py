"""A timetable that targets a group follows the group's members and quiet hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.scheduler.conftest import approved_bulletin, station

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
API = "/api/v1"


def _live(client: TestClient, admin: dict[str, str]) -> dict[int, int]:
    """Count the planned playbacks per station."""
    counts: dict[int, int] = {}
    for row in client.get(f"{API}/playbacks", headers=admin,
                          params={"limit": 1000}).json()["items"]:
        if row["status"] == "planned":
            counts[row["station_id"]] = counts.get(row["station_id"], 0) + 1
    return counts


def test_members_joining_and_leaving_gain_and_lose_future_slots(
        client: TestClient, admin: dict[str, str], speech: Path) -> None:
    bulletin = approved_bulletin(client, admin, speech)
    a, b, c, d = (int(str(station(client, admin, f"Cụm {n}")["id"])) for n in "ABCD")
    group = client.post(f"{API}/groups", headers=admin, json={
        "name": "Phường Tân Lợi", "station_ids": [a, b, c]}).json()
    tomorrow = (datetime.now(HCM) + timedelta(days=1)).replace(hour=10, minute=0, second=0,
                                                              microsecond=0)
    made = client.post(f"{API}/timetables", headers=admin, json={
        "bulletin_id": bulletin, "group_ids": [group["id"]], "station_ids": [c],
        "starts_at": tomorrow.isoformat(), "recurrence": "FREQ=HOURLY;COUNT=2"})
    assert made.status_code == 201, made.text
    assert made.json()["group_ids"] == [group["id"]]
    assert _live(client, admin) == {a: 2, b: 2, c: 2}

    moved = client.patch(f"{API}/groups/{group['id']}", headers=admin,
                         json={"station_ids": [b, d]})
    assert moved.status_code == 200, moved.text
    assert _live(client, admin) == {b: 2, c: 2, d: 2}  # c stays: it was named itself
    left = client.get(f"{API}/playbacks", headers=admin, params={"station_id": a}).json()
    assert {(r["status"], r["reason"]) for r in left["items"]} == {
        ("cancelled", "station left the timetable's group")}
    read = client.get(f"{API}/timetables/{made.json()['id']}", headers=admin).json()
    assert sorted(read["station_ids"]) == [b, c, d]

    quiet = client.patch(f"{API}/groups/{group['id']}", headers=admin,
                         json={"quiet_start": "09:30", "quiet_end": "10:30"})
    assert quiet.status_code == 200, quiet.text
    assert _live(client, admin) == {b: 1, c: 2, d: 1}  # 10:00 is quiet now, 11:00 is not
