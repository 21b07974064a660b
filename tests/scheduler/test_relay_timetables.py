"""Relays on timetables: a stream and a span instead of a bulletin, planned, checked for
clashes, named by the stream in the ledger and agenda; a stream so named is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from scheduler.config import Settings
from scheduler.db import Database
from tests.scheduler.conftest import approved_bulletin, station
from tests.scheduler.streams_support import added, dead_url, quick
from wardcast.protocol import to_wire


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return quick(settings)


def _future(minutes: int = 30) -> datetime:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0)


def _stream(client: TestClient, admin: dict[str, str], name: str = "VOV1 Thời sự") -> int:
    return int(added(client, admin, name=name, url=dead_url(), allow_unreachable=True)["id"])


def _relay(client: TestClient, admin: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/timetables", headers=admin, json=body)


def test_a_relay_timetable_plans_playbacks_of_its_span(client: TestClient,
                                                       admin: dict[str, str]) -> None:
    stream_id = _stream(client, admin)
    target = station(client, admin, "Trạm Tiếp âm")
    start = _future(20)
    answer = _relay(client, admin, stream_id=stream_id, duration_s=1800,
                    station_ids=[target["id"]], starts_at=to_wire(start),
                    recurrence="FREQ=DAILY;COUNT=4")
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert (created["stream_id"], created["duration_s"], created["bulletin_id"]) == (
        stream_id, 1800, None)
    assert created["planned"] == 2
    rows = client.get("/api/v1/playbacks", headers=admin).json()["items"]
    assert [(r["stream_id"], r["bulletin_id"], r["duration_ms"], r["status"]) for r in rows] == [
        (stream_id, None, 1_800_000, "planned")] * 2
    assert [datetime.fromisoformat(r["scheduled_at"]) for r in rows] == [
        start, start + timedelta(days=1)]
    agenda = client.get(f"/api/v1/stations/{target['id']}/agenda", headers=admin, params={
        "from": to_wire(start - timedelta(minutes=1)),
        "to": to_wire(start + timedelta(days=3))}).json()["items"]
    assert [(i["title"], i["duration_ms"], i["stream_id"]) for i in agenda] == [
        ("VOV1 Thời sự", 1_800_000, stream_id)] * 3  # two planned, one projected
    csv = client.get("/api/v1/playbacks", headers=admin, params={"format": "csv"})
    assert "VOV1 Thời sự" in csv.content.decode("utf-8-sig")


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"duration_s": None}, 422, None),
    ({"duration_s": 0}, 422, "duration_s"),
    ({"duration_s": 24 * 3600 + 1}, 422, "duration_s"),
    ({"bulletin_id": 1}, 422, None),
    ({"stream_id": None}, 422, None),
    ({"stream_id": 999}, 404, "stream_id"),
])
def test_a_bad_relay_is_refused_with_why(client: TestClient, admin: dict[str, str],
                                         change: dict[str, object], status: int,
                                         field: str | None) -> None:
    stream_id = _stream(client, admin)
    target = station(client, admin, "Trạm A")
    body = {"stream_id": stream_id, "duration_s": 600, "station_ids": [target["id"]],
            "starts_at": to_wire(_future()), **change}
    answer = _relay(client, admin, **body)
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    if field is not None:
        assert answer.json()["field"] == field
    if change.get("duration_s", 1) is None:
        assert "duration_s" in detail and "Tiếp âm" in detail
    if "bulletin_id" in change or change.get("stream_id", 1) is None:
        assert "stream_id" in detail and "exactly one" in detail
    assert client.get("/api/v1/timetables", headers=admin).json()["total"] == 0
    assert client.get("/api/v1/playbacks", headers=admin).json()["total"] == 0


def test_a_bulletin_inside_a_relays_span_clashes(client: TestClient, admin: dict[str, str],
                                                 speech_mp3: Path) -> None:
    stream_id = _stream(client, admin)
    bulletin_id = approved_bulletin(client, admin, speech_mp3)
    target = station(client, admin, "Trạm B")
    start = _future(30)
    assert _relay(client, admin, stream_id=stream_id, duration_s=1800,
                  station_ids=[target["id"]], starts_at=to_wire(start)).status_code == 201
    inside = _relay(client, admin, bulletin_id=bulletin_id, station_ids=[target["id"]],
                    starts_at=to_wire(start + timedelta(minutes=20)))
    assert inside.status_code == 409, inside.text
    assert inside.json()["code"] == "timetable_conflict"
    assert "«VOV1 Thời sự»" in inside.json()["detail"]
    after = _relay(client, admin, bulletin_id=bulletin_id, station_ids=[target["id"]],
                   starts_at=to_wire(start + timedelta(minutes=31)))
    assert after.status_code == 201, after.text
    # and a relay laid over a bulletin already there
    over = _relay(client, admin, stream_id=stream_id, duration_s=3600,
                  station_ids=[target["id"]], starts_at=to_wire(start + timedelta(minutes=15)))
    assert over.status_code == 409 and over.json()["code"] == "timetable_conflict"


def test_quiet_hours_refuse_a_relay_that_reaches_them(client: TestClient,
                                                      admin: dict[str, str]) -> None:
    stream_id = _stream(client, admin)
    target = station(client, admin, "Trạm Yên", timezone="UTC")
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    quiet = client.patch(f"/api/v1/stations/{target['id']}", headers=admin,
                         json={"quiet_start": "22:00", "quiet_end": "05:00"})
    assert quiet.status_code == 200, quiet.text
    late = datetime(day.year, day.month, day.day, 21, 30, tzinfo=UTC)
    refused = _relay(client, admin, stream_id=stream_id, duration_s=3600,
                     station_ids=[target["id"]], starts_at=to_wire(late))
    assert refused.status_code == 422 and "giờ im lặng" in refused.json()["detail"]
    short = _relay(client, admin, stream_id=stream_id, duration_s=1800,
                   station_ids=[target["id"]], starts_at=to_wire(late))
    assert short.status_code == 201, short.text


def test_a_stream_named_by_a_timetable_is_kept(client: TestClient,
                                               admin: dict[str, str]) -> None:
    used, unused = _stream(client, admin), _stream(client, admin, "Đài tỉnh")
    target = station(client, admin, "Trạm C")
    created = _relay(client, admin, stream_id=used, duration_s=60, station_ids=[target["id"]],
                     starts_at=to_wire(_future())).json()
    refused = client.delete(f"/api/v1/streams/{used}", headers=admin)
    assert refused.status_code == 409 and refused.json()["code"] == "stream_in_use"
    assert "không xoá được" in refused.json()["detail"]
    # the ledger still names it once the timetable is gone
    assert client.delete(f"/api/v1/timetables/{created['id']}", headers=admin).status_code == 204
    assert client.delete(f"/api/v1/streams/{used}", headers=admin).status_code == 409
    assert client.delete(f"/api/v1/streams/{unused}", headers=admin).status_code == 204


def test_the_migration_keeps_the_ledgers_triggers_and_index(db: Database) -> None:
    with db.engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            names = set(conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'playbacks'::regclass "
                "AND NOT tgisinternal")).scalars())
            nullable = conn.execute(text(
                "SELECT is_nullable FROM information_schema.columns WHERE table_name = "
                "'playbacks' AND column_name = 'bulletin_id'")).scalar()
            assert names == {"report_tally_playback_insert", "report_tally_playbacks"}
            assert nullable == "YES"
            return
        rows = dict(conn.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'playbacks'")).all())
    assert {"report_tally_playback_insert", "report_tally_playback_delete",
            "report_tally_playback_update"} <= set(rows)
    assert "WHERE status != 'cancelled'" in rows["uq_playbacks_slot"]
    assert "stream_id" in rows["playbacks"] and "bulletin_id INTEGER," in rows["playbacks"]


def test_a_relays_span_and_source_can_be_changed(client: TestClient, admin: dict[str, str],
                                                 speech_mp3: Path) -> None:
    stream_id = _stream(client, admin)
    bulletin_id = approved_bulletin(client, admin, speech_mp3)
    target = station(client, admin, "Trạm D")
    created = _relay(client, admin, stream_id=stream_id, duration_s=600,
                     station_ids=[target["id"]], starts_at=to_wire(_future())).json()
    path = f"/api/v1/timetables/{created['id']}"
    longer = client.patch(path, headers=admin, json={"duration_s": 900})
    assert longer.status_code == 200 and longer.json()["duration_s"] == 900
    [row] = client.get("/api/v1/playbacks", headers=admin).json()["items"]
    assert (row["stream_id"], row["duration_ms"]) == (stream_id, 900_000)
    swapped = client.patch(path, headers=admin, json={"bulletin_id": bulletin_id}).json()
    assert (swapped["bulletin_id"], swapped["stream_id"], swapped["duration_s"]) == (
        bulletin_id, None, None)
    [row] = client.get("/api/v1/playbacks", headers=admin).json()["items"]
    assert (row["bulletin_id"], row["stream_id"], row["duration_ms"]) == (bulletin_id, None, None)
    refused = client.patch(path, headers=admin, json={"duration_s": 60})
    assert refused.status_code == 422 and refused.json()["field"] == "duration_s"
    # a bulletin with a relay's span in one change: refused with why (the fuzz found a 500)
    both = client.patch(path, headers=admin, json={"bulletin_id": bulletin_id, "duration_s": 1})
    assert both.status_code == 422, both.text
    assert "duration_s" in both.json()["detail"]
    assert client.get(path, headers=admin).json()["bulletin_id"] == bulletin_id
