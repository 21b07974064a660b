"""A ward-limited user never sees another ward's stations in a list, and no refusal names the
other ward."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from scheduler.runtime import Runtime
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD, approved_bulletin
from wardcast.protocol import to_wire

OWN_WARD, FOREIGN_WARD = "Phường Tân Lợi", "Phường Ea Tam"
FOREIGN_STATION = "Trạm chợ Ea Tam"
# what no answer to a user of OWN_WARD may contain
SECRETS = ("Ea Tam",)


@dataclass
class Wards:
    own: int  # station ids
    foreign: int
    mixed_timetable: int  # plays on both
    foreign_timetable: int  # plays only in the foreign ward
    group_timetable: int  # the own station, and the foreign ward's group
    city: int  # group ids: the city, parent of both ward groups
    own_group: int
    foreign_group: int
    market: int  # a cluster with a station of each ward


def _post(client: TestClient, headers: dict[str, str], path: str, body: object) -> int:
    answer = client.post(f"/api/v1{path}", headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


@pytest.fixture
def wards(client: TestClient, admin: dict[str, str], speech: Path) -> Wards:
    own = _post(client, admin, "/stations", {"name": "Trạm Tân Lợi", "ward": OWN_WARD})
    foreign = _post(client, admin, "/stations", {"name": FOREIGN_STATION, "ward": FOREIGN_WARD})
    city = _post(client, admin, "/groups", {"name": "Buôn Ma Thuột", "kind": "city"})
    own_group = _post(client, admin, "/groups", {"name": "Nhóm Tân Lợi", "kind": "ward",
                                                 "parent_id": city, "station_ids": [own]})
    foreign_group = _post(client, admin, "/groups", {"name": "Nhóm Ea Tam", "kind": "ward",
                                                     "parent_id": city,
                                                     "station_ids": [foreign]})
    market = _post(client, admin, "/groups", {"name": "Cụm loa chợ", "kind": "cluster",
                                              "station_ids": [own, foreign]})
    bulletin = approved_bulletin(client, admin, speech)

    def timetable(hours: int, **targets: list[int]) -> int:
        start = to_wire(datetime.now(UTC) + timedelta(hours=hours))
        return _post(client, admin, "/timetables", {"bulletin_id": bulletin,
                                                    "starts_at": start, **targets})

    return Wards(own=own, foreign=foreign,
                 mixed_timetable=timetable(1, station_ids=[own, foreign]),
                 foreign_timetable=timetable(2, station_ids=[foreign]),
                 group_timetable=timetable(3, station_ids=[own], group_ids=[foreign_group]),
                 city=city, own_group=own_group, foreign_group=foreign_group, market=market)


def _limited(client: TestClient, runtime: Runtime, role: str) -> dict[str, str]:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD, role=role,
                          wards=[OWN_WARD])
    token = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _no_secrets(answer: httpx.Response) -> None:
    for secret in SECRETS:
        assert secret not in answer.text, f"{answer.request.url.path}: {answer.text}"


def test_timetable_lists_show_only_the_users_own_stations(
        client: TestClient, runtime: Runtime, admin: dict[str, str], wards: Wards) -> None:
    viewer = _limited(client, runtime, "viewer")
    listed = client.get("/api/v1/timetables", headers=viewer)
    assert listed.status_code == 200, listed.text
    items = {t["id"]: t for t in listed.json()["items"]}
    assert set(items) == {wards.mixed_timetable, wards.group_timetable}
    assert listed.json()["total"] == 2
    for item in items.values():
        assert item["station_ids"] == [wards.own], item
        assert item["other_stations"] == 1
        assert item["planned"] == 1  # its playbacks on the user's station only
    assert items[wards.group_timetable]["group_ids"] == []  # the foreign ward's group
    # one at a time, the same view
    one = client.get(f"/api/v1/timetables/{wards.mixed_timetable}", headers=viewer)
    assert one.status_code == 200, one.text
    assert (one.json()["station_ids"], one.json()["other_stations"]) == ([wards.own], 1)
    hidden = client.get(f"/api/v1/timetables/{wards.foreign_timetable}", headers=viewer)
    assert hidden.status_code == 403 and hidden.json()["code"] == "outside_wards"
    _no_secrets(hidden)
    # an admin of every ward sees everything, as before
    full = client.get(f"/api/v1/timetables/{wards.group_timetable}", headers=admin).json()
    assert (full["station_ids"], full["other_stations"]) == ([wards.own, wards.foreign], 0)
    assert full["group_ids"] == [wards.foreign_group] and full["planned"] == 2


def test_group_lists_show_only_groups_reaching_the_users_wards(
        client: TestClient, runtime: Runtime, admin: dict[str, str], wards: Wards) -> None:
    viewer = _limited(client, runtime, "viewer")
    listed = client.get("/api/v1/groups", headers=viewer)
    assert listed.status_code == 200, listed.text
    _no_secrets(listed)
    items = {g["id"]: g for g in listed.json()["items"]}
    assert set(items) == {wards.city, wards.own_group, wards.market}
    assert listed.json()["total"] == 3
    assert items[wards.market]["station_ids"] == [wards.own]
    assert client.get(f"/api/v1/groups/{wards.market}", headers=viewer).json()[
        "station_ids"] == [wards.own]
    assert client.get(f"/api/v1/groups/{wards.city}/stations", headers=viewer).json() == [
        wards.own]
    foreign = client.get(f"/api/v1/groups/{wards.foreign_group}", headers=viewer)
    assert foreign.status_code == 403 and foreign.json()["code"] == "outside_wards"
    assert client.get(f"/api/v1/groups/{wards.foreign_group}/stations",
                      headers=viewer).status_code == 403
    assert client.get("/api/v1/groups", headers=admin).json()["total"] == 4


def test_refusals_never_name_the_other_ward(client: TestClient, runtime: Runtime,
                                            admin: dict[str, str], wards: Wards,
                                            speech: Path) -> None:
    editor, approver = _limited(client, runtime, "editor"), _limited(client, runtime, "approver")
    ward_admin = _limited(client, runtime, "admin")
    bulletin = approved_bulletin(client, admin, speech)
    playback = client.get("/api/v1/playbacks", headers=admin,
                          params={"station_id": wards.foreign}).json()["items"][0]["id"]
    later = to_wire(datetime.now(UTC) + timedelta(days=2))
    calls = [
        client.get(f"/api/v1/stations/{wards.foreign}", headers=editor),
        client.get(f"/api/v1/stations/{wards.foreign}/agenda", headers=editor, params={
            "from": to_wire(datetime.now(UTC)), "to": later}),
        client.get(f"/api/v1/stations/{wards.foreign}/commands", headers=editor),
        client.get(f"/api/v1/playbacks/{playback}", headers=editor),
        client.get(f"/api/v1/playbacks/{playback}/events", headers=editor),
        client.post("/api/v1/timetables", headers=editor, json={
            "bulletin_id": bulletin, "station_ids": [wards.own, wards.foreign],
            "starts_at": later}),
        client.post("/api/v1/timetables", headers=editor, json={
            "bulletin_id": bulletin, "group_ids": [wards.market], "starts_at": later}),
        client.patch(f"/api/v1/timetables/{wards.mixed_timetable}", headers=editor,
                     json={"priority": "priority"}),
        client.delete(f"/api/v1/timetables/{wards.mixed_timetable}", headers=editor),
        client.post("/api/v1/broadcasts", headers=approver, json={
            "bulletin_id": bulletin, "station_ids": [wards.foreign], "priority": "normal"}),
        client.post(f"/api/v1/stations/{wards.foreign}/commands", headers=approver,
                    json={"type": "resync"}),
        client.patch(f"/api/v1/stations/{wards.foreign}", headers=ward_admin,
                     json={"name": "Trạm mới"}),
        client.post(f"/api/v1/stations/{wards.foreign}/token", headers=ward_admin),
        client.patch(f"/api/v1/groups/{wards.market}", headers=ward_admin,
                     json={"name": "Cụm chợ mới"}),
    ]
    wrong = [f"{a.request.method} {a.request.url.path}: {a.status_code} {a.text}"
             for a in calls if a.status_code != 403 or a.json()["code"] != "outside_wards"
             or any(secret in a.text for secret in SECRETS) or FOREIGN_STATION in a.text
             or "outside your wards" not in a.json()["detail"]]
    assert not wrong, "\n".join(wrong)


def test_a_ward_admin_changes_only_groups_wholly_in_their_wards(
        client: TestClient, runtime: Runtime, admin: dict[str, str], wards: Wards) -> None:
    ward_admin = _limited(client, runtime, "admin")
    refused = client.patch(f"/api/v1/groups/{wards.market}", headers=ward_admin,
                           json={"station_ids": [wards.own]})
    assert refused.status_code == 403, refused.text
    assert client.get(f"/api/v1/groups/{wards.market}", headers=admin).json()[
        "station_ids"] == [wards.own, wards.foreign]  # the other ward's station stayed
    assert client.patch(f"/api/v1/groups/{wards.city}", headers=ward_admin,
                        json={"quiet_start": "21:00", "quiet_end": "05:00"}).status_code == 403
    renamed = client.patch(f"/api/v1/groups/{wards.own_group}", headers=ward_admin,
                           json={"name": "Nhóm Tân Lợi mới"})
    assert renamed.status_code == 200, renamed.text


def test_a_ward_admin_reads_the_audit_log_of_their_wards(
        client: TestClient, runtime: Runtime, admin: dict[str, str], wards: Wards) -> None:
    ward_admin = _limited(client, runtime, "admin")
    assert client.post(f"/api/v1/stations/{wards.own}/commands", headers=ward_admin,
                       json={"type": "resync"}).status_code == 202
    log = client.get("/api/v1/audit", headers=ward_admin, params={"limit": 1000})
    assert log.status_code == 200, log.text
    _no_secrets(log)
    seen = {(e["action"], e["target_type"], e["target_id"]) for e in log.json()["items"]}
    assert seen == {("station.register", "station", str(wards.own)),
                    ("station.command", "station", str(wards.own))}
    assert log.json()["total"] == 2
    everything = client.get("/api/v1/audit", headers=admin, params={"limit": 1000}).json()
    assert everything["total"] > 2
    assert ("station.register", "station", str(wards.foreign)) in {
        (e["action"], e["target_type"], e["target_id"]) for e in everything["items"]}
