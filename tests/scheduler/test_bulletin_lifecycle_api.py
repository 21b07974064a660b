"""Issue 18 through the real API: the same audio twice, delete or archive, replace the audio,
the language given by its name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scheduler.runtime import Runtime
from tests.scheduler.conftest import approved_bulletin, login_as, station


def _upload(client: TestClient, headers: dict[str, str], path: Path,
            **data: str) -> dict[str, object]:
    with path.open("rb") as handle:
        answer = client.post("/api/v1/bulletins", headers=headers,
                             files={"file": (path.name, handle, "application/octet-stream")},
                             data={"title": "Bản tin", "language": "vi"} | data)
    return {**answer.json(), "http": answer.status_code}


def _listed(client: TestClient, headers: dict[str, str], **params: str) -> set[int]:
    answer = client.get("/api/v1/bulletins", headers=headers, params=params)
    return {item["id"] for item in answer.json()["items"]}


def test_the_same_audio_twice_is_named_and_refused_when_asked(
        client: TestClient, admin: dict[str, str], speech_mp3: Path) -> None:
    first = _upload(client, admin, speech_mp3, title="Lịch tiêm chủng")
    assert first["http"] == 201 and first["duplicate_of"] is None
    # an existing client (no allow_duplicate) still gets 201; the answer names the first one
    again = _upload(client, admin, speech_mp3, title="Lịch tiêm chủng (lần 2)")
    assert again["http"] == 201
    assert again["duplicate_of"] == {"id": first["id"], "title": "Lịch tiêm chủng"}
    # the page asks to be told: 409 `duplicate` with the earlier bulletin, nothing stored
    refused = _upload(client, admin, speech_mp3, title="Lần 3", allow_duplicate="false")
    assert refused["http"] == 409 and refused["code"] == "duplicate"
    assert refused["duplicate_of"]["id"] in (first["id"], again["id"])
    assert "Lịch tiêm chủng" in str(refused["detail"])
    assert client.get("/api/v1/bulletins", headers=admin).json()["total"] == 2


def test_a_new_audio_is_not_a_duplicate(client: TestClient, admin: dict[str, str],
                                        speech_mp3: Path, speech_m4a: Path) -> None:
    _upload(client, admin, speech_mp3)
    fresh = _upload(client, admin, speech_m4a, allow_duplicate="false")
    assert fresh["http"] == 201 and fresh["duplicate_of"] is None


def test_delete_a_pending_or_rejected_bulletin_and_its_files(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech_mp3: Path,
        speech_m4a: Path) -> None:
    editor = login_as(client, runtime, "editor")
    pending = _upload(client, editor, speech_mp3)
    rejected = _upload(client, editor, speech_m4a)
    approver = login_as(client, runtime, "approver")
    client.post(f"/api/v1/bulletins/{rejected['id']}/reject", headers=approver,
                json={"reason": "Âm thanh rè"}).raise_for_status()
    for bulletin in (pending, rejected):
        answer = client.delete(f"/api/v1/bulletins/{bulletin['id']}", headers=editor)
        assert answer.status_code == 200, answer.text
        assert answer.json()["outcome"] == "deleted"
        assert client.get(f"/api/v1/bulletins/{bulletin['id']}",
                          headers=editor).status_code == 404
        assert not runtime.store.dist_path(str(bulletin["sha256"])).exists()
    assert client.delete(f"/api/v1/bulletins/{pending['id']}", headers=editor).status_code == 404
    viewer = login_as(client, runtime, "viewer")
    other = _upload(client, editor, speech_mp3)
    assert client.delete(f"/api/v1/bulletins/{other['id']}", headers=viewer).status_code == 403


def test_a_file_two_bulletins_share_stays_until_both_are_gone(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech_mp3: Path) -> None:
    first, second = _upload(client, admin, speech_mp3), _upload(client, admin, speech_mp3)
    dist = runtime.store.dist_path(str(first["sha256"]))
    client.delete(f"/api/v1/bulletins/{first['id']}", headers=admin).raise_for_status()
    assert dist.exists()
    client.delete(f"/api/v1/bulletins/{second['id']}", headers=admin).raise_for_status()
    assert not dist.exists()


def test_an_approved_or_aired_bulletin_is_archived_not_deleted(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech_mp3: Path) -> None:
    bulletin_id = approved_bulletin(client, admin, speech_mp3)
    target = station(client, admin, "Trạm Buôn Ma Thuột")
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    timetable = client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin_id, "station_ids": [target["id"]], "starts_at": soon})
    assert timetable.status_code == 201, timetable.text
    # a slot still to come: neither deleted nor archived, and said why
    busy = client.delete(f"/api/v1/bulletins/{bulletin_id}", headers=admin)
    assert busy.status_code == 409 and busy.json()["code"] == "bulletin_scheduled"
    client.delete(f"/api/v1/timetables/{timetable.json()['id']}",
                  headers=admin).raise_for_status()
    answer = client.delete(f"/api/v1/bulletins/{bulletin_id}", headers=admin)
    assert answer.status_code == 200 and answer.json()["outcome"] == "archived"
    kept = client.get(f"/api/v1/bulletins/{bulletin_id}", headers=admin).json()
    assert kept["archived_at"] is not None
    assert runtime.store.dist_path(kept["sha256"]).exists()
    assert bulletin_id not in _listed(client, admin)
    assert _listed(client, admin, archived="true") == {bulletin_id}
    again = client.delete(f"/api/v1/bulletins/{bulletin_id}", headers=admin)
    assert again.status_code == 409
    # archived: kept for the log, but never scheduled again
    refused = client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin_id, "station_ids": [target["id"]], "starts_at": soon})
    assert refused.status_code == 409 and refused.json()["code"] == "bulletin_archived"


def test_a_repeating_timetable_keeps_the_bulletin_from_being_archived(
        client: TestClient, admin: dict[str, str], speech_mp3: Path) -> None:
    bulletin_id = approved_bulletin(client, admin, speech_mp3)
    target = station(client, admin, "Trạm Pleiku")
    far = (datetime.now(UTC) + timedelta(days=60)).isoformat()  # past the planning horizon
    client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin_id, "station_ids": [target["id"]], "starts_at": far,
        "recurrence": "FREQ=DAILY"}).raise_for_status()
    busy = client.delete(f"/api/v1/bulletins/{bulletin_id}", headers=admin)
    assert busy.status_code == 409 and busy.json()["code"] == "bulletin_scheduled"
    assert "xóa các lịch phát" in busy.json()["detail"]


def test_replace_the_audio_of_a_pending_bulletin(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech_mp3: Path,
        speech_m4a: Path) -> None:
    before = _upload(client, admin, speech_mp3, title="Thông báo họp dân")
    old_dist = runtime.store.dist_path(str(before["sha256"]))
    with speech_m4a.open("rb") as handle:
        answer = client.post(f"/api/v1/bulletins/{before['id']}/audio", headers=admin,
                             files={"file": ("ban-moi.m4a", handle, "audio/mp4")})
    assert answer.status_code == 200, answer.text
    after = answer.json()
    assert after["id"] == before["id"] and after["title"] == "Thông báo họp dân"
    assert after["sha256"] != before["sha256"] and after["original_filename"] == "ban-moi.m4a"
    assert after["status"] == "pending"
    # loudness evened out as on upload: the loud m4a comes down, the quiet mp3 went up
    assert abs(after["loudness_lufs"] - before["loudness_lufs"]) <= 1.0
    assert after["source_loudness_lufs"] > float(str(before["source_loudness_lufs"])) + 10
    assert runtime.store.dist_path(after["sha256"]).exists() and not old_dist.exists()
    assert len([p for p in runtime.store.originals.iterdir() if p.is_file()]) == 1
    served = client.get(f"/api/v1/bulletins/{before['id']}/audio", headers=admin)
    assert served.content == runtime.store.dist_path(after["sha256"]).read_bytes()


def test_an_approved_bulletins_audio_cannot_be_replaced(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech_mp3: Path,
        speech_m4a: Path) -> None:
    bulletin_id = approved_bulletin(client, admin, speech_mp3)
    sha = client.get(f"/api/v1/bulletins/{bulletin_id}", headers=admin).json()["sha256"]
    with speech_m4a.open("rb") as handle:
        answer = client.post(f"/api/v1/bulletins/{bulletin_id}/audio", headers=admin,
                             files={"file": ("moi.m4a", handle, "audio/mp4")})
    assert answer.status_code == 409 and answer.json()["code"] == "bulletin_not_pending"
    assert "đã được duyệt" in answer.json()["detail"]
    assert client.get(f"/api/v1/bulletins/{bulletin_id}", headers=admin).json()["sha256"] == sha
    assert not list(runtime.store.incoming.glob("*.upload"))


@pytest.mark.parametrize(("name", "code"), [("Ê Đê", "rad"), ("Ede", "rad"), ("ê đê", "rad"),
                                            ("Gia Rai", "jra"), ("M'nông", "cmo"),
                                            ("Tày", "tyz"), ("Dao", "ium")])
def test_the_language_by_its_name(client: TestClient, admin: dict[str, str],
                                  speech_mp3: Path, name: str, code: str) -> None:
    with speech_mp3.open("rb") as handle:
        answer = client.post("/api/v1/bulletins", headers=admin,
                             files={"file": ("a.mp3", handle, "audio/mpeg")},
                             data={"title": "Bản tin", "language_name": name})
    assert answer.status_code == 201, answer.text
    assert answer.json()["language"] == code


def test_an_unknown_language_name_is_refused_in_vietnamese(
        client: TestClient, admin: dict[str, str], speech_mp3: Path) -> None:
    with speech_mp3.open("rb") as handle:
        answer = client.post("/api/v1/bulletins", headers=admin,
                             files={"file": ("a.mp3", handle, "audio/mpeg")},
                             data={"title": "Bản tin", "language_name": "Tiếng Sao Hỏa"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "unknown_language" and body["field"] == "language"
    assert body["detail"].startswith("Không có ngôn ngữ «Tiếng Sao Hỏa»")
    assert client.get("/api/v1/bulletins", headers=admin).json()["total"] == 0


def test_an_archived_bulletin_goes_on_air_neither_in_a_programme_nor_by_approval(
        client: TestClient, admin: dict[str, str], speech_mp3: Path, speech: Path) -> None:
    bulletin_id = approved_bulletin(client, admin, speech_mp3)
    programme = client.post("/api/v1/programmes", headers=admin, json={
        "title": "Chương trình sáng", "items": [{"bulletin_id": bulletin_id}]})
    assert programme.status_code == 201, programme.text
    archived = client.delete(f"/api/v1/bulletins/{bulletin_id}", headers=admin)
    assert archived.json()["outcome"] == "archived"
    assert client.get(f"/api/v1/programmes/{programme.json()['id']}",
                      headers=admin).json()["schedulable"] is False
    target = station(client, admin, "Trạm Ea Kao")
    refused = client.post("/api/v1/timetables", headers=admin, json={
        "programme_id": programme.json()["id"], "station_ids": [target["id"]],
        "starts_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()})
    assert refused.status_code == 409 and refused.json()["code"] == "bulletin_archived"
    # a pending bulletin a programme names is archived too, and cannot be approved after
    pending = _upload(client, admin, speech, title="Chờ duyệt")
    client.post("/api/v1/programmes", headers=admin, json={
        "title": "Chương trình chiều", "items": [{"bulletin_id": pending["id"]}]}
                ).raise_for_status()
    assert client.delete(f"/api/v1/bulletins/{pending['id']}",
                         headers=admin).json()["outcome"] == "archived"
    approver = login_as(client, client.app.state.runtime, "approver")  # type: ignore[attr-defined]
    late = client.post(f"/api/v1/bulletins/{pending['id']}/approve", headers=approver)
    assert late.status_code == 409 and late.json()["code"] == "bulletin_archived"


def test_an_editor_of_one_ward_cannot_take_away_a_bulletin_other_wards_play(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech_mp3: Path) -> None:
    from scheduler.users import service as users
    from tests.scheduler.conftest import PASSWORD

    bulletin_id = approved_bulletin(client, admin, speech_mp3)
    elsewhere = station(client, admin, "Trạm Phường Khác")  # ward "Phường 1"
    client.post("/api/v1/timetables", headers=admin, json={
        "bulletin_id": bulletin_id, "station_ids": [elsewhere["id"]],
        "starts_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}).raise_for_status()
    with runtime.db.session() as session:
        users.create_user(session=session, username="bien-tap-p2", password=PASSWORD,
                          role="editor", wards=["P2"])
        session.commit()
    token = client.post("/api/v1/auth/token", data={"username": "bien-tap-p2",
                                                    "password": PASSWORD}).json()
    answer = client.delete(f"/api/v1/bulletins/{bulletin_id}",
                           headers={"Authorization": f"Bearer {token['access_token']}"})
    assert answer.status_code == 403 and answer.json()["code"] == "outside_wards"
    assert client.get(f"/api/v1/bulletins/{bulletin_id}",
                      headers=admin).json()["archived_at"] is None
