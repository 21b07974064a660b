"""The agenda and the iCalendar feed agree with the ledger over a month, in another zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from icalendar import Calendar

from scheduler.runtime import Runtime
from tests.scheduler.conftest import approved_bulletin, station
from wardcast.protocol import to_wire

RULE = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6,17;BYMINUTE=0;BYSECOND=0"


def test_month_agenda_matches_ledger_and_ical(client: TestClient, runtime: Runtime,
                                              admin: dict[str, str], speech: Path) -> None:
    bulletin = approved_bulletin(client, admin, speech)
    yangon = station(client, admin, "Trạm Yangon", timezone="Asia/Yangon")
    client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin, "station_ids": [yangon["id"]],
        "starts_at": "2026-01-05T06:00:00", "recurrence": RULE}).raise_for_status()
    now = datetime.now(UTC)
    window = {"from": to_wire(now), "to": to_wire(now + timedelta(days=31))}
    path = f"/api/v1/stations/{yangon['id']}/agenda"
    projected = client.get(path, headers=admin, params=window).json()
    zone = ZoneInfo("Asia/Yangon")
    instants = [datetime.fromisoformat(i["scheduled_at"]) for i in projected["items"]]
    assert len(instants) >= 40
    for instant in instants:
        local = instant.astimezone(zone)
        assert (local.hour, local.minute) in {(6, 0), (17, 0)} and local.weekday() < 5
    assert any(i.astimezone(zone).date() != i.astimezone(UTC).date() for i in instants)
    assert any(i["playback_id"] is None for i in projected["items"])  # past the 48 h horizon

    runtime.settings.horizon_hours = 24 * 32
    runtime.plan_and_push()
    planned = client.get(path, headers=admin, params=window).json()
    assert [i["scheduled_at"] for i in planned["items"]] == [
        i["scheduled_at"] for i in projected["items"]]
    assert all(i["playback_id"] is not None for i in planned["items"])
    ledger = client.get("/api/v1/playbacks", headers=admin, params={
        "station_id": yangon["id"], "limit": 1000, **window}).json()["items"]
    assert [(r["id"], r["scheduled_at"]) for r in ledger] == [
        (i["playback_id"], i["scheduled_at"]) for i in planned["items"]]

    address = client.post("/api/v1/feeds", headers=admin,
                          json={"station_id": yangon["id"], "name": "lịch"}).json()["url"]
    feed = client.get(address)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    events = list(Calendar.from_ical(feed.content).walk("VEVENT"))
    starts = {c.decoded("dtstart") for c in events}
    assert {datetime.fromisoformat(r["scheduled_at"]) for r in ledger} <= starts
    assert all(f"playback-{r['id']}-" in feed.text for r in ledger)
    assert client.get(f"/api/v1/stations/{yangon['id']}/calendar.ics").status_code == 401
    title = client.get(f"/api/v1/bulletins/{bulletin}", headers=admin).json()["title"]
    # people read each event: the bulletin by name, the station's own time, Vietnamese words
    for event in events:
        local = event.decoded("dtstart").astimezone(zone)
        assert str(event.get("description")) in (
            f"«{title}» · {local:%H:%M %d/%m/%Y} giờ của Trạm Yangon · mức thường" + state
            for state in ("", " · đã lên lịch"))  # projected past the horizon, or planned


def test_agenda_window_is_checked(client: TestClient, admin: dict[str, str]) -> None:
    target = station(client, admin, "Trạm A")
    path = f"/api/v1/stations/{target['id']}/agenda"
    now = datetime.now(UTC)
    inverted = client.get(path, headers=admin, params={"from": to_wire(now),
                                                       "to": to_wire(now - timedelta(hours=1))})
    assert inverted.status_code == 422 and inverted.json()["field"] == "to"
    huge = client.get(path, headers=admin, params={"from": to_wire(now),
                                                   "to": to_wire(now + timedelta(days=400))})
    assert huge.status_code == 422
    naive = client.get(path, headers=admin, params={"from": "2026-12-01T00:00",
                                                    "to": "2026-12-02T00:00"})
    assert naive.status_code == 422
