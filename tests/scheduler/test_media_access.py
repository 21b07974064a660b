"""A station's token fetches only the audio of its own plan: timetable slots, programme items
and broadcasts not yet final; never a pending bulletin, nor another station's audio."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import TimeoutError as PoolTimeout

from scheduler.playbacks import ledger
from scheduler.runtime import Runtime
from tests.scheduler.conftest import approved_bulletin, station, upload
from tests.support.audio import speech_wav
from wardcast.protocol import Event, EventType, to_wire

API = "/api/v1"


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    return [speech_wav(folder / f"{n}.wav", text=text) for n, text in enumerate(
        ("Lịch phát thường ngày.", "Mục của chương trình.", "Phát ngay bây giờ.",
         "Bản tin chưa được duyệt."))]


def _sha(client: TestClient, admin: dict[str, str], bulletin_id: int) -> str:
    return str(client.get(f"{API}/bulletins/{bulletin_id}", headers=admin).json()["sha256"])


def _fetch(client: TestClient, token: object, sha256: str) -> int:
    return client.get(f"{API}/media/{sha256}",
                      headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_station_fetches_only_the_media_of_its_own_plan(
        client: TestClient, runtime: Runtime, admin: dict[str, str], clips: list[Path]) -> None:
    timetabled, item, broadcast = (approved_bulletin(client, admin, clip) for clip in clips[:3])
    pending = upload(client, admin, clips[3])
    assert pending.status_code == 201 and pending.json()["status"] == "pending"
    sha = {name: _sha(client, admin, bid) for name, bid in (
        ("timetabled", timetabled), ("item", item), ("broadcast", broadcast),
        ("pending", int(pending.json()["id"])))}
    mine, other = station(client, admin, "Trạm của mình"), station(client, admin, "Trạm khác")
    at = to_wire(datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2))
    programme = client.post(f"{API}/programmes", headers=admin, json={
        "title": "Chương trình", "items": [{"bulletin_id": item, "gap_after_ms": 0}]}).json()
    for body in ({"bulletin_id": timetabled}, {"programme_id": programme["id"],
                                               "starts_at": to_wire(datetime.now(UTC)
                                                                    + timedelta(hours=5))}):
        answer = client.post(f"{API}/timetables", headers=admin,
                             json={"station_ids": [mine["id"]], "starts_at": at, **body})
        assert answer.status_code == 201, answer.text

    assert _fetch(client, mine["token"], sha["timetabled"]) == 200
    assert _fetch(client, mine["token"], sha["item"]) == 200
    for name in ("broadcast", "pending"):  # in no plan of this station
        assert _fetch(client, mine["token"], sha[name]) == 404, name
    for name in ("timetabled", "item", "broadcast", "pending"):  # nothing is planned there
        assert _fetch(client, other["token"], sha[name]) == 404, name
    refused = client.get(f"{API}/media/{sha['pending']}",
                         headers={"Authorization": f"Bearer {other['token']}"})
    assert refused.json()["code"] == "not_found" and "sha256" == refused.json()["field"]

    sent = client.post(f"{API}/broadcasts", headers=admin, json={
        "bulletin_id": broadcast, "station_ids": [other["id"]], "priority": "emergency"})
    assert sent.status_code == 201, sent.text
    assert _fetch(client, other["token"], sha["broadcast"]) == 200
    assert _fetch(client, other["token"], sha["timetabled"]) == 404

    # once the broadcast's playback is final (played), its audio is no longer the station's
    event = Event(event_id=uuid.uuid4().hex, playback_id=sent.json()["playback_ids"][0],
                  type=EventType.FINISHED, at=datetime.now(UTC))
    with runtime.db.session() as session:
        assert ledger.apply_events(session=session,
                                   reports=[(int(str(other["id"])), event)]) == ["stored"]
    assert _fetch(client, other["token"], sha["broadcast"]) == 404


def test_a_fanned_out_broadcasts_members_fetch_its_audio_before_its_rows_exist(
        client: TestClient, runtime: Runtime, admin: dict[str, str], clips: list[Path]) -> None:
    import json

    from scheduler.broadcasts.models import Broadcast

    bulletin = approved_bulletin(client, admin, clips[2])
    sha = _sha(client, admin, bulletin)
    member, outsider = station(client, admin, "Thành viên"), station(client, admin, "Ngoài")
    now = datetime.now(UTC)
    with runtime.db.session() as session:  # stored and published, no row written yet
        session.add(Broadcast(bulletin_id=bulletin, priority="emergency", starts_at=now,
                              valid_until=now + timedelta(minutes=5), created_at=now,
                              targets=json.dumps([member["id"]])))
    assert _fetch(client, member["token"], sha) == 200
    assert _fetch(client, outsider["token"], sha) == 404
    with runtime.db.session() as session:  # its window over: no longer
        for row in session.query(Broadcast).all():
            row.valid_until = now - timedelta(seconds=1)
    assert _fetch(client, member["token"], sha) == 404


BURST = 200  # members asking for a broadcast's audio at once
THREADS = 40  # the threads the app runs blocking work on (anyio's default limiter)


def test_a_burst_of_members_holds_one_connection_per_running_request_only(
        client: TestClient, runtime: Runtime, admin: dict[str, str], clips: list[Path]) -> None:
    """A connection only while a request's checks run in a thread: before, each request held
    one (taken by its station check) while it waited for the thread of the route, and 1,000
    members asking at once drained the pool (500s after 30 s)."""
    bulletin = approved_bulletin(client, admin, clips[2])
    sha = _sha(client, admin, bulletin)
    member = station(client, admin, "Trạm thành viên")
    sent = client.post(f"{API}/broadcasts", headers=admin, json={
        "bulletin_id": bulletin, "station_ids": [member["id"]], "priority": "emergency"})
    assert sent.status_code == 201, sent.text
    held, most = 0, 0
    lock = threading.Lock()

    def checkout(*_: object) -> None:
        nonlocal held, most
        with lock:
            held += 1
            most = max(most, held)

    def checkin(*_: object) -> None:
        nonlocal held
        with lock:
            held -= 1

    event.listen(runtime.db.engine, "checkout", checkout)
    event.listen(runtime.db.engine, "checkin", checkin)
    try:
        with ThreadPoolExecutor(max_workers=BURST) as pool:
            codes = list(pool.map(lambda _: _fetch(client, member["token"], sha), range(BURST)))
    finally:
        event.remove(runtime.db.engine, "checkout", checkout)
        event.remove(runtime.db.engine, "checkin", checkin)
    assert codes == [200] * BURST
    assert 1 <= most <= THREADS + 2, most  # the app's own background work may hold one or two


def test_a_drained_pool_answers_503_with_a_retry_not_500(
        client: TestClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    member = station(client, admin, "Trạm bận")

    def drained(**_: object) -> None:
        raise PoolTimeout("QueuePool limit of size 10 overflow 40 reached")

    monkeypatch.setattr("scheduler.stations.service.by_token", drained)
    answer = client.get(f"{API}/media/{'a' * 64}",
                        headers={"Authorization": f"Bearer {member['token']}"})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json()["code"] == "busy" and "thử lại" in answer.json()["detail"]
