"""Stream sources over the API: probed when saved (real ffmpeg, a real HTTP stream), refused
when unreachable or local, credentials kept but never shown, roles, the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scheduler.config import Settings
from scheduler.runtime import Runtime
from tests.scheduler.conftest import approved_bulletin, login_as, upload
from tests.scheduler.streams_support import add, added, dead_url, quick
from tests.support.stream_source import StreamSource

SECRET = "mật-khẩu@VOV:1"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return quick(settings)


def test_a_stream_is_probed_when_added(client: TestClient, admin: dict[str, str],
                                       speech: Path, tmp_path: Path) -> None:
    with StreamSource(speech, folder=tmp_path) as source:
        stream = added(client, admin, name="VOV1 Thời sự", url=source.url)
    assert {k: stream[k] for k in ("name", "url", "codec", "bitrate_kbps", "sample_rate",
                                   "channels", "state", "has_credentials", "last_error")} == {
        "name": "VOV1 Thời sự", "url": source.url, "codec": "mp3", "bitrate_kbps": 64,
        "sample_rate": 44100, "channels": 1, "state": "ok", "has_credentials": False,
        "last_error": None}
    assert stream["checked_at"] and stream["state_since"] == stream["checked_at"]
    listed = client.get("/api/v1/streams", headers=admin).json()
    assert [s["id"] for s in listed["items"]] == [stream["id"]] and listed["total"] == 1
    assert client.get(f"/api/v1/streams/{stream['id']}", headers=admin).json() == stream
    audit = client.get("/api/v1/audit", headers=admin, params={"action": "stream.create"}).json()
    assert [e["target_id"] for e in audit["items"]] == [str(stream["id"])]


def test_an_unreachable_stream_is_refused_unless_allowed(client: TestClient,
                                                         admin: dict[str, str]) -> None:
    url = dead_url()
    answer = add(client, admin, name="Đài tỉnh", url=url)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "stream_unreachable"
    assert "từ chối kết nối" in answer.json()["detail"]
    assert "refused the connection" in answer.json()["detail"]
    assert client.get("/api/v1/streams", headers=admin).json()["total"] == 0
    stream = added(client, admin, name="Đài tỉnh", url=url, allow_unreachable=True)
    assert stream["state"] == "unreachable" and stream["codec"] is None
    assert stream["last_error"].startswith("máy chủ từ chối kết nối — ")


def test_a_stream_that_needs_a_login(client: TestClient, admin: dict[str, str], speech: Path,
                                     tmp_path: Path) -> None:
    with StreamSource(speech, folder=tmp_path, credentials=("tiepam", SECRET)) as source:
        refused = add(client, admin, name="VOV có mật khẩu", url=source.url)
        assert refused.status_code == 422 and "đòi tên đăng nhập" in refused.json()["detail"]
        wrong = add(client, admin, name="VOV có mật khẩu", url=source.url, username="tiepam",
                    password="sai-mat-khau")
        assert wrong.status_code == 422 and "sai-mat-khau" not in wrong.text
        stream = added(client, admin, name="VOV có mật khẩu", url=source.url,
                       username="tiepam", password=SECRET)
        # typed into the address, the login moves to its fields
        host = source.url.removeprefix("http://")
        inline = added(client, admin, name="VOV 2",
                       url=f"http://tiepam:{SECRET.replace('@', '%40')}@{host}")
        patched = client.patch(f"/api/v1/streams/{stream['id']}", headers=admin,
                               json={"name": "VOV1 (mật khẩu)"})
        # a new password is tried before it is kept
        relogin = client.patch(f"/api/v1/streams/{stream['id']}", headers=admin,
                               json={"password": "sai-mat-khau"})
        assert (relogin.status_code, relogin.json()["code"]) == (422, "stream_unreachable")
        assert "đòi tên đăng nhập" in relogin.json()["detail"]
        assert client.post(f"/api/v1/streams/{stream['id']}/check",
                           headers=admin).json()["state"] == "ok"  # the old one kept
    assert stream["state"] == inline["state"] == "ok"
    assert stream["has_credentials"] and stream["username"] == "tiepam"
    assert inline["url"] == source.url and inline["has_credentials"]
    shown = [client.get("/api/v1/streams", headers=admin).text, patched.text,
             client.get(f"/api/v1/streams/{stream['id']}", headers=admin).text,
             client.get("/api/v1/audit", headers=admin).text, refused.text]
    secrets = (SECRET, SECRET.replace("@", "%40"), '"password"')
    assert [text for text in shown if any(secret in text for secret in secrets)] == []


def test_a_silent_stream_is_said_silent(client: TestClient, admin: dict[str, str],
                                        speech: Path, tmp_path: Path) -> None:
    with StreamSource(speech, folder=tmp_path, silent=True) as source:
        stream = added(client, admin, name="Luồng im lặng", url=source.url)
    assert (stream["state"], stream["codec"]) == ("silent", "mp3")


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "/etc/passwd", "pipe:0", "concat:http://127.0.0.1/a|file:/etc/passwd",
    "data:audio/mp3;base64,AAAA", "subfile,,start,0,end,0,,:/etc/passwd",
    "ftp://127.0.0.1/a.mp3", "http:///live.mp3", "http://127.0.0.1/có khoảng trắng",
    "http://[::1/live.mp3"])
def test_local_and_other_schemes_are_refused(client: TestClient, admin: dict[str, str],
                                             url: str) -> None:
    answer = add(client, admin, name="Tệp trên máy chủ", url=url, allow_unreachable=True)
    assert answer.status_code == 422, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == ("invalid_url", "url")
    assert client.get("/api/v1/streams", headers=admin).json()["total"] == 0


def test_who_may_do_what(client: TestClient, runtime: Runtime, admin: dict[str, str]) -> None:
    viewer, approver = login_as(client, runtime, "viewer"), login_as(client, runtime, "approver")
    editor = login_as(client, runtime, "editor")
    for headers in (viewer, approver):
        answer = add(client, headers, name="Đài xã", url=dead_url(), allow_unreachable=True)
        assert answer.status_code == 403, answer.text
    stream = added(client, editor, name="Đài xã", url=dead_url(), allow_unreachable=True)
    for headers in (viewer, approver):
        assert client.get("/api/v1/streams", headers=headers).json()["total"] == 1
        for method, path in (("PATCH", ""), ("POST", "/check"), ("DELETE", "")):
            answer = client.request(method, f"/api/v1/streams/{stream['id']}{path}",
                                    headers=headers, json={"name": "Đổi tên"})
            assert answer.status_code == 403, (method, path, answer.text)
    assert client.delete(f"/api/v1/streams/{stream['id']}", headers=editor).status_code == 204
    assert client.get(f"/api/v1/streams/{stream['id']}", headers=admin).status_code == 404
    actions = {e["action"] for e in client.get("/api/v1/audit", headers=admin).json()["items"]}
    assert {"stream.create", "stream.delete"} <= actions


def test_names_are_unique_and_changes_keep_what_was_not_probed(
        client: TestClient, admin: dict[str, str], speech: Path) -> None:
    first = added(client, admin, name="VOV1 Thời sự", url=dead_url(), allow_unreachable=True)
    clash = add(client, admin, name="  vov1 thoi SU ", url=dead_url(), allow_unreachable=True)
    assert (clash.status_code, clash.json()["code"]) == (409, "name_taken")
    renamed = client.patch(f"/api/v1/streams/{first['id']}", headers=admin,
                           json={"name": "VOV1 Thời sự sáng"}).json()
    assert renamed["checked_at"] == first["checked_at"]  # same address: not probed again
    moved = client.patch(f"/api/v1/streams/{first['id']}", headers=admin,
                         json={"url": dead_url()})
    assert moved.status_code == 422 and moved.json()["code"] == "stream_unreachable"
    assert client.get(f"/api/v1/streams/{first['id']}", headers=admin).json()["url"] == (
        first["url"])
    pending = upload(client, admin, speech, title="Nhạc chờ").json()["id"]
    refused = client.patch(f"/api/v1/streams/{first['id']}", headers=admin,
                           json={"filler_bulletin_id": pending})
    assert refused.status_code == 409 and refused.json()["field"] == "filler_bulletin_id"
    filler = approved_bulletin(client, admin, speech)
    kept = client.patch(f"/api/v1/streams/{first['id']}", headers=admin,
                        json={"filler_bulletin_id": filler})
    assert kept.status_code == 200 and kept.json()["filler_bulletin_id"] == filler
