"""The approver's part of issue 18 through the routes: the waiting count on the home page, an
emergency from a fresh recording (approved by the sender's role, audited), and Stop."""

from __future__ import annotations

import re
import uuid
import wave
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from scheduler.runtime import Runtime
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD, login_as, station, upload

BASE = "http://testserver"
ORIGIN = {"Origin": BASE}


def _log_in(client: TestClient, runtime: Runtime, role: str) -> str:
    """Log in to the pages with a new user of this role (cookie); return its name."""
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD, role=role)
    client.cookies.clear()
    answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "next": "/"}, headers=ORIGIN, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return username


def _waiting(client: TestClient) -> str | None:
    page = client.get("/")
    assert page.status_code == 200, page.text
    found = re.search(r'<section[^>]*id="approval-waiting">(.*?)</section>', page.text, re.S)
    return " ".join(found.group(1).split()) if found else None


def test_home_counts_the_bulletins_waiting_for_approval(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech: Path) -> None:
    _log_in(client, runtime, "approver")
    assert _waiting(client) == "<p>Không có bản tin nào chờ duyệt</p>"
    editor = login_as(client, runtime, "editor")
    for n in range(3):
        assert upload(client, editor, speech, title=f"Tin {n}").status_code == 201
    assert _waiting(client) == ('<p><a href="/bulletins?status=pending">'
                                '3 bản tin đang chờ duyệt</a></p>')
    _log_in(client, runtime, "admin")
    assert "3 bản tin đang chờ duyệt" in (_waiting(client) or "")
    _log_in(client, runtime, "editor")
    assert _waiting(client) is None  # editors do not approve: no count for them


def _audit(client: TestClient, admin: dict[str, str], **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/v1/audit", headers=admin,
                                             params=params).json()["items"]
    return items


def _confirm_fresh(client: TestClient, audio: Path, station_id: object) -> int:
    with audio.open("rb") as handle:
        page = client.post("/emergency/confirm", headers=ORIGIN,
                           files={"audio": ("ghi-am.wav", handle, "audio/wav")},
                           data={"bulletin_id": "", "station_ids": str(station_id)})
    assert page.status_code == 200, page.text
    found = re.search(r'name="bulletin_id" value="(\d+)"', page.text)
    assert found and 'name="fresh" value="1"' in page.text
    return int(found.group(1))


def test_fresh_recording_is_sent_approved_by_the_role_and_audited(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech: Path) -> None:
    target = station(client, admin, "Trạm Phường Tân Lợi")
    approver = _log_in(client, runtime, "approver")
    before = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
    bulletin_id = _confirm_fresh(client, speech, target["id"])
    bulletin = client.get(f"/api/v1/bulletins/{bulletin_id}", headers=admin).json()
    assert bulletin["status"] == "pending"  # nothing is approved before it is sent
    assert re.fullmatch(r"Khẩn cấp \d\d/\d\d/\d{4} \d\d:\d\d", bulletin["title"])
    assert bulletin["title"][9:19] == before.strftime("%d/%m/%Y") or before.hour == 23
    assert abs(bulletin["loudness_lufs"] - runtime.settings.loudness_target) < 1.5
    assert bulletin["source_loudness_lufs"] != bulletin["loudness_lufs"]  # processed
    recorded = _audit(client, admin, action="emergency.record", target_id=str(bulletin_id))
    assert [e["username"] for e in recorded] == [approver]

    refused = client.post("/emergency", headers=ORIGIN, data={  # no station: the audio stays
        "bulletin_id": str(bulletin_id), "fresh": "1"})
    assert refused.status_code == 422 and "Cần chọn ít nhất một trạm" in refused.text
    assert 'id="fresh-ready"' in refused.text and bulletin["title"] in refused.text
    sent = client.post("/emergency", headers=ORIGIN, follow_redirects=False, data={
        "bulletin_id": str(bulletin_id), "fresh": "1", "station_ids": str(target["id"])})
    assert sent.status_code == 303, sent.text
    broadcast_id = int(sent.headers["location"].rsplit("/", 1)[1])
    bulletin = client.get(f"/api/v1/bulletins/{bulletin_id}", headers=admin).json()
    assert bulletin["status"] == "approved"
    rows = client.get("/api/v1/playbacks", headers=admin,
                      params={"bulletin_id": bulletin_id}).json()["items"]
    assert [(r["station_id"], r["priority"]) for r in rows] == [(target["id"], "emergency")]
    entry, = _audit(client, admin, action="emergency.fresh", target_id=str(broadcast_id))
    assert entry["username"] == approver
    assert {k: entry["detail"][k] for k in ("recorded_by", "approved_by", "sent_by",
                                            "bulletin_id")} == {
        "recorded_by": approver, "approved_by": approver, "sent_by": approver,
        "bulletin_id": bulletin_id}
    implicit, = _audit(client, admin, action="bulletin.approve", target_id=str(bulletin_id))
    assert implicit["detail"]["implicit"] == "emergency"


def test_only_ones_own_fresh_recording_is_approved_by_sending_it(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech: Path) -> None:
    target = station(client, admin, "Trạm Phường Ea Tam")
    _log_in(client, runtime, "approver")
    theirs = _confirm_fresh(client, speech, target["id"])
    uploaded = upload(client, admin, speech, title="Tin thường").json()["id"]  # not fresh
    _log_in(client, runtime, "approver")  # another approver
    for bulletin_id in (theirs, uploaded):
        refused = client.post("/emergency", headers=ORIGIN, follow_redirects=False, data={
            "bulletin_id": str(bulletin_id), "fresh": "1", "station_ids": str(target["id"])})
        assert refused.status_code == 403, refused.text
        assert "chính bạn" in refused.text
        assert client.get(f"/api/v1/bulletins/{bulletin_id}",
                          headers=admin).json()["status"] == "pending"
    assert client.get("/api/v1/playbacks", headers=admin).json()["items"] == []


def test_fresh_audio_is_refused_with_nothing_kept(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech: Path,
        tmp_path: Path) -> None:
    target = station(client, admin, "Trạm Phường Tự An")
    _log_in(client, runtime, "approver")
    noise = tmp_path / "not-audio.wav"
    noise.write_bytes(b"this is not audio at all" * 50)
    with noise.open("rb") as handle:
        page = client.post("/emergency/confirm", headers=ORIGIN,
                           files={"audio": ("ghi-am.wav", handle, "audio/wav")},
                           data={"station_ids": str(target["id"])})
    assert 400 <= page.status_code < 500 and 'id="form-error"' in page.text
    with speech.open("rb") as handle:  # no station: refused before the audio is processed
        page = client.post("/emergency/confirm", headers=ORIGIN,
                           files={"audio": ("ghi-am.wav", handle, "audio/wav")}, data={})
    assert page.status_code == 422 and "Cần chọn ít nhất một trạm" in page.text
    assert client.get("/api/v1/bulletins", headers=admin).json()["total"] == 0
    assert _audit(client, admin, action="emergency.record") == []


def test_stop_cancels_what_has_not_started_and_tells_each_station(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech: Path) -> None:
    a, b = station(client, admin, "Cụm loa 1"), station(client, admin, "Cụm loa 2")
    bulletin_id = upload(client, admin, speech).json()["id"]
    approver = login_as(client, runtime, "approver")
    client.post(f"/api/v1/bulletins/{bulletin_id}/approve", headers=approver).raise_for_status()
    created = client.post("/api/v1/broadcasts", headers=approver, json={
        "bulletin_id": bulletin_id, "station_ids": [a["id"], b["id"]], "repeat": 2,
        "gap_s": 5})
    assert created.status_code == 201, created.text
    broadcast = created.json()
    viewer = login_as(client, runtime, "viewer")
    assert client.post(f"/api/v1/broadcasts/{broadcast['id']}/stop",
                       headers=viewer).status_code == 403
    stopped = client.post(f"/api/v1/broadcasts/{broadcast['id']}/stop", headers=approver)
    assert stopped.status_code == 200, stopped.text
    assert sorted(stopped.json()["cancelled"]) == sorted(broadcast["playback_ids"])
    assert stopped.json()["station_ids"] == sorted([a["id"], b["id"]])
    rows = client.get("/api/v1/playbacks", headers=admin,
                      params={"bulletin_id": bulletin_id}).json()["items"]
    assert {(r["status"], r["reason"]) for r in rows} == {("cancelled", "broadcast stopped")}
    for target in (a, b):
        command, = client.get(f"/api/v1/stations/{target['id']}/commands",
                              headers=admin).json()
        assert (command["type"], command["args"]) == ("stop", {"broadcast_id": broadcast["id"]})
    entry, = _audit(client, admin, action="broadcast.stop", target_id=str(broadcast["id"]))
    assert entry["detail"]["stations"] == sorted([a["id"], b["id"]])
    again = client.post(f"/api/v1/broadcasts/{broadcast['id']}/stop", headers=approver)
    assert again.status_code == 409
    assert client.post("/api/v1/broadcasts/999999/stop", headers=approver).status_code == 404

    _log_in(client, runtime, "approver")
    watch = client.get(f"/emergency/{broadcast['id']}")
    assert "Đã dừng lúc" in watch.text and 'id="stop-now"' not in watch.text
    assert watch.text.count("Đã dừng, chưa kịp phát") == 2


def test_the_watch_page_stops_a_broadcast(client: TestClient, runtime: Runtime,
                                          admin: dict[str, str], speech: Path) -> None:
    target = station(client, admin, "Trạm Phường Thành Nhất")
    _log_in(client, runtime, "approver")
    bulletin_id = _confirm_fresh(client, speech, target["id"])
    sent = client.post("/emergency", headers=ORIGIN, follow_redirects=False, data={
        "bulletin_id": str(bulletin_id), "fresh": "1", "station_ids": str(target["id"])})
    watch = sent.headers["location"]
    assert 'id="stop-now"' in client.get(watch).text
    stopped = client.post(f"{watch}/stop", headers=ORIGIN, follow_redirects=False)
    assert stopped.status_code == 303 and stopped.headers["location"] == watch
    page = client.get(watch).text
    assert "Đã gửi lệnh dừng tới 1 trạm." in page and "Đã dừng, chưa kịp phát" in page
    again = client.post(f"{watch}/stop", headers=ORIGIN, follow_redirects=False)
    assert "Lần phát khẩn cấp này đã được dừng trước đó." in client.get(
        again.headers["location"]).text


def test_stop_reaches_a_group_broadcast_within_the_users_wards(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech: Path) -> None:
    ours = station(client, admin, "Cụm loa Tân Lợi")  # ward "Phường 1"
    theirs = client.post("/api/v1/stations", headers=admin,
                         json={"name": "Cụm loa Ea Tam", "ward": "Phường 2"}).json()
    group = client.post("/api/v1/groups", headers=admin, json={
        "name": "Thành phố", "station_ids": [ours["id"], theirs["id"]]}).json()
    bulletin_id = upload(client, admin, speech).json()["id"]
    approver = login_as(client, runtime, "approver")
    client.post(f"/api/v1/bulletins/{bulletin_id}/approve", headers=approver).raise_for_status()
    created = client.post("/api/v1/broadcasts", headers=approver, json={
        "bulletin_id": bulletin_id, "group_ids": [group["id"]]})
    assert created.status_code == 201, created.text
    broadcast_id = created.json()["id"]
    username = f"approver-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD,
                          role="approver", wards=["Phường 1"])
    token = client.post("/api/v1/auth/token",
                        data={"username": username, "password": PASSWORD}).json()
    limited = {"Authorization": f"Bearer {token['access_token']}"}
    stopped = client.post(f"/api/v1/broadcasts/{broadcast_id}/stop", headers=limited)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["station_ids"] == [ours["id"]]  # not the other ward's station
    rows = {r["station_id"]: r["status"] for r in client.get(
        "/api/v1/playbacks", headers=admin, params={"bulletin_id": bulletin_id}).json()["items"]}
    assert rows == {ours["id"]: "cancelled", theirs["id"]: "planned"}
    rest = client.post(f"/api/v1/broadcasts/{broadcast_id}/stop", headers=approver)
    assert rest.status_code == 200 and rest.json()["station_ids"] == [theirs["id"]]
    assert client.post(f"/api/v1/broadcasts/{broadcast_id}/stop",
                       headers=approver).status_code == 409


def test_fresh_audio_may_be_as_large_as_an_upload(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech: Path,
        tmp_path: Path) -> None:
    """Past the 1 MB of an ordinary form: a minute of audio from a phone is several MB."""
    target = station(client, admin, "Trạm Phường Khánh Xuân")
    _log_in(client, runtime, "approver")
    with wave.open(str(speech)) as source:
        params, frames = source.getparams(), source.readframes(source.getnframes())
    long = tmp_path / "long.wav"
    with wave.open(str(long), "wb") as out:
        out.setparams(params)
        while out.tell() * params.sampwidth * params.nchannels < 3 * 1024 * 1024:
            out.writeframes(frames)
    assert long.stat().st_size > runtime.settings.max_json_bytes
    bulletin_id = _confirm_fresh(client, long, target["id"])
    assert client.get(f"/api/v1/bulletins/{bulletin_id}",
                      headers=admin).json()["duration_ms"] > 10_000


def test_a_fresh_recording_whose_audio_someone_replaced_is_not_approved_by_sending_it(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech: Path,
        speech_mp3: Path) -> None:
    target = station(client, admin, "Trạm Phường Thành Công")
    _log_in(client, runtime, "approver")
    bulletin_id = _confirm_fresh(client, speech, target["id"])
    editor = login_as(client, runtime, "editor")
    with speech_mp3.open("rb") as handle:  # another voice, before the approver sends
        swapped = client.post(f"/api/v1/bulletins/{bulletin_id}/audio", headers=editor,
                              files={"file": ("khac.mp3", handle, "audio/mpeg")})
    assert swapped.status_code == 200, swapped.text
    refused = client.post("/emergency", headers=ORIGIN, follow_redirects=False, data={
        "bulletin_id": str(bulletin_id), "fresh": "1", "station_ids": str(target["id"])})
    assert refused.status_code == 403, refused.text
    assert client.get(f"/api/v1/bulletins/{bulletin_id}",
                      headers=admin).json()["status"] == "pending"
