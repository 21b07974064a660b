"""A station's plan lists its groups, with the groups above them (the urgent topics it may
read); a change of members or of parent sends new plans to every station it touches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from scheduler.dispatch.plans import build_plans
from scheduler.runtime import Runtime
from tests.scheduler.conftest import station
from wardcast.protocol import utcnow

API = "/api/v1"


def _groups_in_plans(runtime: Runtime, station_ids: list[int]) -> dict[int, list[int]]:
    with runtime.db.session() as session:
        return {sid: plan.groups for sid, plan in build_plans(
            session=session, station_ids=station_ids, now=utcnow(),
            late_grace=timedelta(minutes=5), horizon=timedelta(hours=48))}


def test_plans_list_each_stations_groups_and_changes_push_them(
        client: TestClient, admin: dict[str, str], runtime: Runtime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    pushed: list[set[int]] = []
    monkeypatch.setattr(runtime, "push_plans", lambda ids: pushed.append(set(ids)))
    a, b, c = (int(str(station(client, admin, f"Trạm {n}")["id"])) for n in "ABC")
    city = client.post(f"{API}/groups", headers=admin, json={
        "name": "Thành phố", "kind": "city", "station_ids": []}).json()["id"]
    ward = client.post(f"{API}/groups", headers=admin, json={
        "name": "Phường Tân Lợi", "kind": "ward", "parent_id": city,
        "station_ids": [a, b]}).json()["id"]
    assert pushed[-1] == {a, b}
    cluster = client.post(f"{API}/groups", headers=admin, json={
        "name": "Cụm loa chợ", "kind": "cluster", "station_ids": [b]}).json()["id"]
    assert _groups_in_plans(runtime, [a, b, c]) == {
        a: sorted([ward, city]), b: sorted([ward, city, cluster]), c: []}

    pushed.clear()
    moved = client.patch(f"{API}/groups/{ward}", headers=admin, json={"station_ids": [b, c]})
    assert moved.status_code == 200, moved.text
    assert set().union(*pushed) >= {a, b, c}  # a left, c joined, b stayed (pushed anyway)
    assert _groups_in_plans(runtime, [a, c]) == {a: [], c: sorted([ward, city])}

    pushed.clear()
    orphaned = client.patch(f"{API}/groups/{ward}", headers=admin, json={"parent_id": None})
    assert orphaned.status_code == 200, orphaned.text
    assert set().union(*pushed) >= {b, c}
    assert _groups_in_plans(runtime, [b, c]) == {b: sorted([ward, cluster]), c: [ward]}

    pushed.clear()
    renamed = client.patch(f"{API}/groups/{ward}", headers=admin, json={"name": "Phường 1"})
    assert renamed.status_code == 200, renamed.text
    assert pushed == []  # a new name changes no plan
