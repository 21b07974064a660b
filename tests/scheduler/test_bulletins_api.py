"""Uploading, reading and approving bulletins through the real API, and every bad upload."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from scheduler.app import create_app
from scheduler.bulletins.models import Bulletin
from scheduler.bulletins.scratch import LOCK_SUFFIX
from scheduler.bulletins.storage import hostile_name
from scheduler.config import Settings
from scheduler.runtime import Runtime
from tests.scheduler.conftest import login_as, upload
from tests.support.audio import integrated_loudness


def _files(runtime: Runtime) -> set[Path]:
    """Files under the media folder, but the lock of this process's scratch folder."""
    return {p for p in runtime.store.root.rglob("*") if p.is_file()
            and not p.name.endswith(LOCK_SUFFIX)}


def _bulletin_count(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(Bulletin)) or 0


def test_upload_normalises_and_reports_loudness(client: TestClient, runtime: Runtime,
                                                admin: dict[str, str], speech_mp3: Path) -> None:
    answer = upload(client, admin, speech_mp3, title="Thông báo tiêm chủng")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "pending"
    assert body["title"] == "Thông báo tiêm chủng"
    assert abs(body["loudness_lufs"] - (-16.0)) <= 1.0
    assert body["source_loudness_lufs"] < -24
    dist = runtime.store.dist_path(body["sha256"])
    assert abs(integrated_loudness(dist) - (-16.0)) <= 1.0
    assert 2000 < body["duration_ms"] < 30000
    audio = client.get(f"/api/v1/bulletins/{body['id']}/audio", headers=admin)
    assert audio.status_code == 200 and audio.content == dist.read_bytes()
    assert audio.headers["etag"] == f'"{body["sha256"]}"'
    part = client.get(f"/api/v1/bulletins/{body['id']}/audio",
                      headers={**admin, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == dist.read_bytes()[100:200]


def test_approve_and_reject_need_an_approver(client: TestClient, runtime: Runtime,
                                             admin: dict[str, str], speech_m4a: Path) -> None:
    editor = login_as(client, runtime, "editor")
    approver = login_as(client, runtime, "approver")
    first = upload(client, editor, speech_m4a).json()
    second = upload(client, editor, speech_m4a).json()
    assert client.post(f"/api/v1/bulletins/{first['id']}/approve",
                       headers=editor).status_code == 403
    ok = client.post(f"/api/v1/bulletins/{first['id']}/approve", headers=approver)
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    again = client.post(f"/api/v1/bulletins/{first['id']}/reject", headers=approver,
                        json={"reason": "sai nội dung"})
    assert again.status_code == 409
    rejected = client.post(f"/api/v1/bulletins/{second['id']}/reject", headers=approver,
                           json={"reason": "Âm thanh bị rè"})
    assert rejected.json()["reject_reason"] == "Âm thanh bị rè"
    viewer = login_as(client, runtime, "viewer")
    assert upload(client, viewer, speech_m4a).status_code == 403


def test_nobody_approves_their_own_upload_admins_included(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech_m4a: Path) -> None:
    """The two-person rule (WARDCAST_TWO_PERSON_RULE, on by default) binds admins too."""
    own = upload(client, admin, speech_m4a).json()
    refused = client.post(f"/api/v1/bulletins/{own['id']}/approve", headers=admin)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "two_person_rule"
    assert refused.json()["detail"].startswith("Không được tự duyệt bản tin")
    assert "two-person rule" in refused.json()["detail"]
    assert client.get(f"/api/v1/bulletins/{own['id']}", headers=admin).json()["status"] == \
        "pending"
    # the web page offers no approve button to the uploader, and its form is refused too
    token = admin["Authorization"].removeprefix("Bearer ")
    client.cookies.set("wardcast_session", token)
    try:
        page = client.get(f"/bulletins/{own['id']}")
        assert page.status_code == 200 and 'id="two-person"' in page.text
        assert 'id="approve"' not in page.text
        posted = client.post(f"/bulletins/{own['id']}/approve", follow_redirects=False,
                             headers={"Origin": "http://testserver"})
        assert posted.status_code == 403
    finally:
        client.cookies.clear()
    # a second admin may approve it; the uploader may still withdraw (reject) an upload
    other_admin = login_as(client, runtime, "admin")
    assert client.post(f"/api/v1/bulletins/{own['id']}/approve",
                       headers=other_admin).status_code == 200
    withdrawn = upload(client, admin, speech_m4a).json()
    assert client.post(f"/api/v1/bulletins/{withdrawn['id']}/reject", headers=admin,
                       json={"reason": "tải nhầm tệp"}).status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_two_person_rule_can_be_turned_off_for_admins(
        settings: Settings, speech_m4a: Path) -> None:
    assert settings.two_person_rule  # on unless turned off
    relaxed = settings.model_copy(update={"two_person_rule": False})
    with TestClient(create_app(relaxed)) as client:
        runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        admin = login_as(client, runtime, "admin")
        own = upload(client, admin, speech_m4a).json()
        approved = client.post(f"/api/v1/bulletins/{own['id']}/approve", headers=admin)
        assert approved.status_code == 200 and approved.json()["status"] == "approved"


@pytest.fixture(scope="module")
def bad_uploads(tmp_path_factory: pytest.TempPathFactory, speech: Path) -> dict[str, Path]:
    """One file for each way an upload can be unusable."""
    folder = tmp_path_factory.mktemp("bad")
    files = {"empty": folder / "empty.mp3", "text": folder / "notes.mp3",
             "random": folder / "noise.wav", "silence": folder / "silence.wav",
             "truncated_mp3": folder / "cut.mp3", "truncated_m4a": folder / "cut.m4a",
             "lying_wav": folder / "lying.wav"}
    files["empty"].write_bytes(b"")
    files["text"].write_text("Đây không phải là âm thanh\n" * 200)
    files["random"].write_bytes(bytes(range(256)) * 400)
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono",
                    "-t", "5", str(files["silence"])], check=True)
    for key, codec in (("truncated_mp3", ["-b:a", "128k"]), ("truncated_m4a", ["-c:a", "aac"])):
        full = folder / f"full{files[key].suffix}"
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(speech), *codec, str(full)], check=True)
        data = full.read_bytes()
        files[key].write_bytes(data[: len(data) // 2])
    wav = speech.read_bytes()
    data_at = wav.index(b"data") + 4
    lying = wav[:data_at] + struct.pack("<I", 50_000_000) + wav[data_at + 4:]
    files["lying_wav"].write_bytes(lying[: len(lying) // 2])
    return files


@pytest.mark.parametrize(("case", "status", "code"), [
    ("empty", 422, "empty_file"),
    ("text", 415, "not_audio"),
    ("random", 415, "not_audio"),
    ("silence", 422, "silent_audio"),
    ("truncated_mp3", 422, "damaged_audio"),
    ("truncated_m4a", 422, "damaged_audio"),
    ("lying_wav", 422, "damaged_audio"),
])
def test_bad_upload_is_refused_and_leaves_nothing(client: TestClient, runtime: Runtime,
                                                  admin: dict[str, str],
                                                  bad_uploads: dict[str, Path], case: str,
                                                  status: int, code: str) -> None:
    before = _files(runtime)
    answer = upload(client, admin, bad_uploads[case])
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == code and body["field"] == "file"
    assert " — " in body["detail"]  # Vietnamese, then English
    assert _files(runtime) == before
    assert _bulletin_count(runtime) == 0


def test_oversize_upload_is_refused_while_streaming(client: TestClient, runtime: Runtime,
                                                    admin: dict[str, str], tmp_path: Path) -> None:
    big = tmp_path / "big.wav"
    big.write_bytes(b"\0" * (runtime.settings.max_upload_bytes + 200_000))
    answer = upload(client, admin, big)
    assert answer.status_code == 413
    assert answer.json()["code"] == "too_large"
    assert not list(runtime.store.incoming.iterdir())
    assert _bulletin_count(runtime) == 0


@pytest.mark.parametrize("name", [
    "../../../etc/cron.d/\u202eevil.mp3", "/etc/passwd", "..\\..\\boot.ini", "..",
    "tin\u202egpm.exe", "tin\u200fmới.mp3", "a" * 300 + ".mp3",
])
def test_hostile_file_name_is_refused_and_leaves_nothing(
        client: TestClient, runtime: Runtime, admin: dict[str, str], speech_mp3: Path,
        name: str) -> None:
    answer = upload(client, admin, speech_mp3, name=name)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "file" and "Tên tệp" in answer.json()["detail"]
    assert not _files(runtime) and _bulletin_count(runtime) == 0


def test_control_characters_in_a_name_are_refused() -> None:
    # multipart clients percent-encode NUL and line breaks, so they are checked here directly
    for name in ("bản tin\x00.mp3", "tin\nmới.mp3", "tin\rmới.mp3", "\x1b[31m.mp3"):
        assert hostile_name(name) == "it contains control or direction-changing characters"
    assert hostile_name("Bản tin sáng.mp3") is None and hostile_name(None) is None


def test_an_ordinary_vietnamese_file_name_is_kept(client: TestClient, runtime: Runtime,
                                                  admin: dict[str, str],
                                                  speech_mp3: Path) -> None:
    answer = upload(client, admin, speech_mp3, name="Bản tin sáng 28-11 (phường 3).mp3")
    assert answer.status_code == 201, answer.text
    assert answer.json()["original_filename"] == "Bản tin sáng 28-11 (phường 3).mp3"
    names = {p.name for p in _files(runtime)}
    assert not any("Bản tin" in n for n in names)
    assert all(p.resolve().is_relative_to(runtime.store.root.resolve()) for p in _files(runtime))


@pytest.mark.parametrize(("field", "value"), [("title", ""), ("language", "Tiếng Việt")])
def test_bad_form_fields_name_the_field(client: TestClient, runtime: Runtime,
                                        admin: dict[str, str], speech_mp3: Path, field: str,
                                        value: str) -> None:
    kwargs = {field: value}
    answer = upload(client, admin, speech_mp3, **kwargs)
    assert answer.status_code == 422
    assert answer.json()["field"] == field
    assert _bulletin_count(runtime) == 0 and not list(runtime.store.dist.iterdir())


def test_requests_without_a_valid_token_are_refused(client: TestClient) -> None:
    assert client.get("/api/v1/bulletins").status_code == 401
    bad = client.get("/api/v1/bulletins", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and "detail" in bad.json()
    login = client.post("/api/v1/auth/token", data={"username": "x", "password": "y"})
    assert login.status_code == 401
