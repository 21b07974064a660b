"""A broadcast to groups: one message per group topic from the committed record, its rows
after; an agent's event that comes back first makes its row, for a target only, once."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from scheduler.broadcasts import fanout
from scheduler.broadcasts.models import Broadcast
from scheduler.playbacks import ledger
from scheduler.playbacks.models import Playback, PlaybackEvent
from scheduler.runtime import Runtime
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD, approved_bulletin, station
from wardcast.protocol import (
    FEATURE_GROUPS,
    FLEET_TOPIC,
    Event,
    EventType,
    Urgent,
    UrgentAction,
    broadcast_key,
    decode,
    group_topic,
    utcnow,
)

API = "/api/v1"


class Recorder:
    """The dispatcher, its publishes recorded with what the database held at that moment."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.inner = runtime.dispatcher
        self.sent: list[tuple[str, bytes, int, bool]] = []  # topic, payload, rows, record

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def publish(self, topic: str, payload: bytes) -> None:
        broadcast_id = decode(Urgent, payload).broadcast_id
        with self.runtime.db.session() as other:  # what another connection sees: committed
            rows = len(other.scalars(select(Playback.id).where(
                Playback.broadcast_id == broadcast_id)).all())
            stored = other.get(Broadcast, broadcast_id) is not None
        self.sent.append((topic, payload, rows, stored))


@pytest.fixture
def recorder(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recording = Recorder(runtime)
    monkeypatch.setattr(runtime, "dispatcher", recording)
    return recording


def _ids(client: TestClient, admin: dict[str, str], *names: str) -> list[int]:
    return [int(str(station(client, admin, name)["id"])) for name in names]


def test_a_group_broadcast_is_published_from_its_record_before_its_rows(
        client: TestClient, admin: dict[str, str], runtime: Runtime, recorder: Recorder,
        speech: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bulletin = approved_bulletin(client, admin, speech)
    a, b, c, d = _ids(client, admin, "A", "B", "C", "D")
    city = client.post(f"{API}/groups", headers=admin, json={
        "name": "Thành phố", "kind": "city", "station_ids": []}).json()["id"]
    ward = client.post(f"{API}/groups", headers=admin, json={
        "name": "Phường 1", "kind": "ward", "parent_id": city, "station_ids": [a, b]}).json()
    pushed: list[set[int]] = []
    monkeypatch.setattr(runtime, "push_plans", lambda ids: pushed.append(set(ids)))

    made = client.post(f"{API}/broadcasts", headers=admin, json={
        "bulletin_id": bulletin, "group_ids": [city], "station_ids": [c], "repeat": 2})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["station_ids"] == [a, b, c]
    # one message, on the city's topic (its sub-group's members read it), from the stored
    # broadcast, before any of the group's rows; the named station's rows came first
    [(topic, payload, rows_then, stored)] = recorder.sent
    assert topic == group_topic(city) and stored and rows_then == 2  # c's two repeats
    message = decode(Urgent, payload)
    assert message.action is UrgentAction.START and message.item is not None
    assert message.item.repeat == 2 and message.broadcast_id == body["id"]
    # the two members without the audio spread their requests over what serving two takes
    assert message.item.fetch_spread_ms == 2 * 1000 // fanout.MEDIA_FETCHES_PER_S
    with runtime.db.session() as session:
        rows = session.execute(select(Playback.station_id, Playback.repeat_index,
                                      Playback.scheduled_at)
                               .where(Playback.broadcast_id == body["id"])).all()
    assert sorted((s, k) for s, k, _ in rows) == [(a, 0), (a, 1), (b, 0), (b, 1), (c, 0),
                                                  (c, 1)]
    assert len(body["playback_ids"]) == 6
    # the rows are the slots the message's item gives each member
    expected = {(k, item.scheduled_at) for k, item in enumerate(message.plan_items())}
    assert {(k, at) for s, k, at in rows if s == a} == expected
    # plans: c's (named), and a and b's (never heard: offline); d is no target
    assert set().union(*pushed) == {a, b, c} and d not in set().union(*pushed)
    assert ward["parent_id"] == city

    everyone = client.post(f"{API}/broadcasts", headers=admin, json={
        "bulletin_id": bulletin, "everyone": True})
    assert everyone.status_code == 201, everyone.text
    assert recorder.sent[-1][0] == FLEET_TOPIC and everyone.json()["everyone"] is True
    assert everyone.json()["station_ids"] == [a, b, c, d]


def test_settled_online_stations_get_no_plan_but_late_ones_do(
        client: TestClient, admin: dict[str, str], runtime: Runtime, recorder: Recorder,
        speech: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bulletin = approved_bulletin(client, admin, speech)
    settled, fresh, moved, offline, old = _ids(client, admin, "settled", "fresh", "moved",
                                               "off", "old agent")
    group = client.post(f"{API}/groups", headers=admin, json={
        "name": "Cụm", "station_ids": [settled, fresh, offline, old]}).json()["id"]
    client.patch(f"{API}/groups/{group}", headers=admin,
                 json={"station_ids": [settled, fresh, moved, offline, old]}).raise_for_status()
    now = utcnow()
    with runtime.db.session() as session:
        stations.record_features(session=session, features={
            sid: [FEATURE_GROUPS] for sid in (settled, fresh, moved, offline)} | {old: []})
        for sid, since in ((settled, now - timedelta(minutes=5)),
                           (fresh, now - timedelta(seconds=1)),
                           (moved, now - timedelta(minutes=5)),
                           (old, now - timedelta(minutes=5))):
            row = session.get(Station, sid)
            assert row is not None
            row.online, row.online_since = True, since
            row.groups_changed_at = now - timedelta(minutes=10) if sid != moved else now
    pushed: list[set[int]] = []
    monkeypatch.setattr(runtime, "push_plans", lambda ids: pushed.append(set(ids)))
    # "online 1 s ago" must still be fresh when the broadcast is made on a loaded machine,
    # seconds later: the window widened to a minute (the settled ones: 5 minutes)
    monkeypatch.setattr(fanout, "CONNECTED", timedelta(seconds=60))
    made = client.post(f"{API}/broadcasts", headers=admin,
                       json={"bulletin_id": bulletin, "group_ids": [group]})
    assert made.status_code == 201, made.text
    assert set().union(*pushed) == {fresh, moved, offline, old}


def test_without_a_broker_link_every_member_gets_its_plan(
        client: TestClient, admin: dict[str, str], runtime: Runtime, speech: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    bulletin = approved_bulletin(client, admin, speech)
    a, b = _ids(client, admin, "A", "B")
    group = client.post(f"{API}/groups", headers=admin, json={
        "name": "Cụm", "station_ids": [a, b]}).json()["id"]
    monkeypatch.setattr(runtime, "dispatcher", None)
    pushed: list[set[int]] = []
    monkeypatch.setattr(runtime, "push_plans", lambda ids: pushed.append(set(ids)))
    made = client.post(f"{API}/broadcasts", headers=admin,
                       json={"bulletin_id": bulletin, "group_ids": [group]})
    assert made.status_code == 201 and len(made.json()["playback_ids"]) == 2
    assert set().union(*pushed) == {a, b}


def test_everyone_is_refused_to_a_ward_limited_user(
        client: TestClient, admin: dict[str, str], runtime: Runtime, recorder: Recorder,
        speech: Path) -> None:
    bulletin = approved_bulletin(client, admin, speech)
    _ids(client, admin, "A")
    with runtime.db.session() as session:
        users.create_user(session=session, username="phuong1", password=PASSWORD,
                          role="approver", wards=["Phường 1"])
    token = client.post(f"{API}/auth/token", data={
        "username": "phuong1", "password": PASSWORD}).json()["access_token"]
    refused = client.post(f"{API}/broadcasts", headers={"Authorization": f"Bearer {token}"},
                          json={"bulletin_id": bulletin, "everyone": True})
    assert refused.status_code == 403 and refused.json()["field"] == "everyone"
    assert recorder.sent == []
    with runtime.db.session() as session:
        assert session.scalars(select(Broadcast.id)).all() == []


def _event(broadcast_id: int, repeat: int, kind: EventType = EventType.STARTED) -> Event:
    return Event.about(broadcast_key(broadcast_id, repeat), event_id=uuid.uuid4().hex,
                       type=kind, at=utcnow())


def test_events_before_the_rows_make_them_for_targets_only_and_once(
        client: TestClient, admin: dict[str, str], runtime: Runtime, speech: Path) -> None:
    bulletin = approved_bulletin(client, admin, speech)
    a, b, outsider = _ids(client, admin, "A", "B", "outsider")
    now = utcnow()
    with runtime.db.session() as session:
        broadcast = Broadcast(bulletin_id=bulletin, priority="emergency", repeat=2, gap_s=1.0,
                              starts_at=now, valid_until=now + timedelta(minutes=5),
                              created_at=now, targets=json.dumps([a, b]))
        session.add(broadcast)
        session.flush()
        broadcast_id = broadcast.id
    reports = [(a, _event(broadcast_id, 0, EventType.ACCEPTED)), (a, _event(broadcast_id, 0)),
               (outsider, _event(broadcast_id, 0)),  # not a target: no row
               (b, _event(broadcast_id, 7)),  # no such repeat: no row
               (b, _event(broadcast_id + 1, 0))]  # no such broadcast
    with runtime.db.session() as session:
        named = fanout.name_playbacks(session=session, reports=reports)
        outcomes = ledger.apply_events(session=session, reports=named)
    assert [o.name for o in outcomes] == ["STORED", "STORED", "FOREIGN", "FOREIGN", "FOREIGN"]
    with runtime.db.session() as session:
        rows = session.execute(select(Playback.station_id, Playback.repeat_index,
                                      Playback.status)
                               .where(Playback.broadcast_id == broadcast_id)).all()
        assert sorted(rows) == [(a, 0, "playing"), (a, 1, "planned")]  # a's, all repeats
        # the rows the scheduler writes after: a's stays as its events made it
        row = session.get(Broadcast, broadcast_id)
        assert row is not None
        fanout.write_rows(session=session, broadcast=row, duration_ms=1000,
                          station_ids=[a, b])
    with runtime.db.session() as session:
        rows = session.execute(select(Playback.station_id, Playback.repeat_index,
                                      Playback.status)
                               .where(Playback.broadcast_id == broadcast_id)).all()
        assert sorted(rows) == [(a, 0, "playing"), (a, 1, "planned"), (b, 0, "planned"),
                                (b, 1, "planned")]
        kept = session.scalars(select(PlaybackEvent.playback_id)
                               .where(PlaybackEvent.station_id == outsider)).all()
        assert kept == [0]  # kept as evidence, naming no playback


def test_members_spread_their_media_requests_over_the_time_to_serve_them_all() -> None:
    window = timedelta(minutes=30)
    rate = fanout.MEDIA_FETCHES_PER_S
    assert fanout.fetch_spread(10_000, window) == timedelta(seconds=10_000 / rate)
    assert fanout.fetch_spread(30, window) == timedelta(seconds=30 / rate)
    # never so long that the last one could not play well inside a short window
    assert fanout.fetch_spread(10_000, timedelta(seconds=60)) == timedelta(seconds=6)
