"""Managing accounts, through the API and the admin's users page: an admin keeps the system
manageable (not themself deactivated, never without an active admin of every ward), weak
passwords and unknown wards are refused with nothing saved, and every change is audited and
shown in words."""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Sequence

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from scheduler.audit.models import AuditEvent
from scheduler.runtime import Runtime
from scheduler.users import service as users
from scheduler.users.models import User
from tests.scheduler.conftest import PASSWORD, login_as, station

BASE = "http://testserver"
ORIGIN = {"Origin": BASE}


def _me(client: TestClient, headers: dict[str, str]) -> int:
    return int(client.get("/api/v1/users/me", headers=headers).json()["id"])


def _audit(runtime: Runtime, user_id: int) -> list[tuple[str, dict[str, object]]]:
    with runtime.db.session() as session:
        rows = session.scalars(select(AuditEvent).where(
            AuditEvent.target_type == "user", AuditEvent.target_id == str(user_id))
            .order_by(AuditEvent.id))
        return [(r.action, json.loads(r.detail)) for r in rows]


def test_an_admin_cannot_deactivate_themself_nor_take_away_the_last_admin(
        client: TestClient, runtime: Runtime, admin: dict[str, str]) -> None:
    me = _me(client, admin)
    own = client.patch(f"/api/v1/users/{me}", headers=admin, json={"active": False})
    assert own.status_code == 409 and own.json()["code"] == "own_account", own.text
    for change in ({"role": "editor"}, {"wards": ["P1"]}):
        last = client.patch(f"/api/v1/users/{me}", headers=admin, json=change)
        assert last.status_code == 409 and last.json()["code"] == "last_admin", last.text
    assert client.get("/api/v1/users/me", headers=admin).json()["role"] == "admin"

    other = login_as(client, runtime, "admin")
    other_id = _me(client, other)
    # with a second admin, either may step down; the second is then the last one
    assert client.patch(f"/api/v1/users/{me}", headers=admin,
                        json={"role": "editor"}).status_code == 200
    assert client.patch(f"/api/v1/users/{other_id}", headers=other,
                        json={"wards": ["P1"]}).json()["code"] == "last_admin"
    assert [a for a, _ in _audit(runtime, me)] == ["user.update"]


def test_the_api_refuses_a_weak_password_and_audits_what_it_changes(
        client: TestClient, runtime: Runtime, admin: dict[str, str]) -> None:
    weak = client.post("/api/v1/users", headers=admin, json={
        "username": "ca-tam", "password": "ca-tam--", "role": "viewer"})
    assert weak.status_code == 201, weak.text  # like the user name, but not it
    same = client.post("/api/v1/users", headers=admin, json={
        "username": "nguyenvana", "password": "NguyenVanA", "role": "viewer"})
    assert same.status_code == 422 and same.json()["code"] == "weak_password", same.text
    user_id = weak.json()["id"]
    assert client.patch(f"/api/v1/users/{user_id}", headers=admin,
                        json={"password": "aaaaaaaaaa"}).json()["code"] == "weak_password"
    assert client.patch(f"/api/v1/users/{user_id}", headers=admin,
                        json={"role": "editor", "active": False}).status_code == 200
    assert _audit(runtime, user_id) == [
        ("user.create", {"username": "ca-tam", "role": "viewer", "wards": []}),
        ("user.update", {"role": "editor", "active": False})]


def _page_login(client: TestClient, runtime: Runtime, role: str,
                wards: Sequence[str] = ()) -> str:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD, role=role,
                          wards=wards)
        session.commit()
    client.cookies.clear()
    answer = client.post("/login", data={"username": username, "password": PASSWORD},
                         headers=ORIGIN, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return username


def _user(runtime: Runtime, username: str) -> User | None:
    with runtime.db.session() as session:
        found = session.scalar(select(User).where(User.username == username))
        if found is not None:
            session.expunge(found)
        return found


def _error(text: str) -> str:
    found = re.search(r'id="form-error">(.*?)</p>', text, re.S)
    assert found is not None, "no error shown on the page"
    return html.unescape(found.group(1))


def test_the_users_page_is_for_admins_of_every_ward_only(
        client: TestClient, runtime: Runtime) -> None:
    for role, wards in (("editor", ()), ("viewer", ()), ("admin", ("P1",))):
        _page_login(client, runtime, role, wards)
        for answer in (client.get("/users"), client.post("/users", headers=ORIGIN, data={
                "username": "x-" + uuid.uuid4().hex[:6], "role": "admin"})):
            assert answer.status_code == 403, (role, answer.status_code)
            assert "Bạn không có quyền mở trang này" in answer.text
    assert len(_audit_all(runtime)) == 0


def _audit_all(runtime: Runtime) -> list[str]:
    with runtime.db.session() as session:
        return list(session.scalars(select(AuditEvent.action)))


def test_the_users_page_refuses_bad_input_in_the_readers_language_saving_nothing(
        client: TestClient, runtime: Runtime, admin: dict[str, str]) -> None:
    station(client, admin, "Trạm Một")  # ward "Phường 1"
    me = _page_login(client, runtime, "admin")
    taken = client.post("/users", headers=ORIGIN, data={
        "username": me, "password": "mat-khau-moi", "role": "viewer"})
    assert taken.status_code == 409 and f"Người dùng {me} đã tồn tại" in _error(taken.text)
    weak = client.post("/users", headers=ORIGIN, data={
        "username": "ba-nam", "password": "ba-nam", "role": "viewer"})
    assert weak.status_code == 422 and "Mật khẩu quá yếu" in _error(weak.text)
    assert 'value="ba-nam"' in weak.text  # what was typed stays in the form
    ward = client.post("/users", headers=ORIGIN, data={
        "username": "ba-nam", "role": "viewer", "wards": ["Phường 1", "Phường 99"]})
    assert ward.status_code == 422 and "Phường 99" in _error(ward.text)
    assert _user(runtime, "ba-nam") is None
    assert [a for a in _audit_all(runtime) if a.startswith("user.")] == []

    me_id = _user(runtime, me).id  # type: ignore[union-attr]
    own = client.post(f"/users/{me_id}/active", headers=ORIGIN, data={"active": "false"})
    assert own.status_code == 409
    assert "Bạn không thể tự khoá tài khoản của mình" in _error(own.text)
    client.post("/language", headers=ORIGIN, data={"lang": "en", "back": "/users"})
    english = client.post("/users", headers=ORIGIN, data={
        "username": "ba-nam", "role": "viewer", "wards": ["Phường 99"]})
    assert english.status_code == 422
    assert _error(english.text) == "no station is in ward Phường 99"


def test_an_admin_manages_an_account_on_the_page_and_reads_it_in_the_audit_log(
        client: TestClient, runtime: Runtime, admin: dict[str, str]) -> None:
    station(client, admin, "Trạm Một")
    me = _page_login(client, runtime, "admin")
    created = client.post("/users", headers=ORIGIN, data={
        "username": "chi-lan", "role": "editor", "wards": ["Phường 1"]})
    assert created.status_code == 201, created.text
    shown = re.search(r'id="new-password" value="([^"]+)"', created.text)
    assert shown is not None, "the made-up password is not shown"
    first = shown.group(1)
    token = client.post("/api/v1/auth/token", data={"username": "chi-lan", "password": first})
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    user_id = _user(runtime, "chi-lan").id  # type: ignore[union-attr]

    assert client.post(f"/users/{user_id}/role", headers=ORIGIN,
                       data={"role": "approver"}, follow_redirects=False).status_code == 303
    assert client.post(f"/users/{user_id}/wards", headers=ORIGIN,
                       data={}, follow_redirects=False).status_code == 303
    reset = client.post(f"/users/{user_id}/password", headers=ORIGIN, data={"password": ""})
    assert reset.status_code == 200
    second = re.search(r'id="new-password" value="([^"]+)"', reset.text)
    assert second is not None and second.group(1) != first
    assert client.get("/api/v1/users/me", headers=bearer).status_code == 401, \
        "the user's token outlived the password reset"
    assert client.post("/api/v1/auth/token", data={
        "username": "chi-lan", "password": second.group(1)}).status_code == 200
    assert client.post(f"/users/{user_id}/active", headers=ORIGIN, data={"active": "false"},
                       follow_redirects=False).status_code == 303
    assert client.post("/api/v1/auth/token", data={
        "username": "chi-lan", "password": second.group(1)}).status_code == 401

    page = client.get("/users").text
    row = re.search(r'<tr data-username="chi-lan">.*?</tr>', page, re.S)
    assert row is not None
    assert "Người duyệt" in row.group(0) and "Mọi phường/xã" in row.group(0)
    assert "Đã khoá" in row.group(0)
    log = re.search(r'id="audit-log">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert log is not None
    cells = [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
              for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
             for r in re.findall(r"<tr>(.*?)</tr>", log.group(1), re.S)]
    assert [c[1:] for c in cells[:5]] == [
        [me, "khoá tài khoản", "chi-lan"],
        [me, "đặt lại mật khẩu", "chi-lan"],
        [me, "bỏ giới hạn phường/xã", "chi-lan"],
        [me, "đổi vai trò thành Người duyệt", "chi-lan"],
        [me, "tạo tài khoản (Biên tập viên)", "chi-lan"]]
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d \d\d/\d\d/\d{4}", c[0]) for c in cells[:5])
    assert _audit(runtime, user_id)[-1] == ("user.update", {"active": False})


@pytest.mark.parametrize("offset", [0, 20])
def test_the_audit_log_on_the_users_page_is_paged(
        client: TestClient, runtime: Runtime, admin: dict[str, str], offset: int) -> None:
    for n in range(25):
        station(client, admin, f"Trạm {n:02d}")
    _page_login(client, runtime, "admin")
    page = client.get(f"/users?offset={offset}").text
    log = re.search(r'id="audit".*?</section>', page, re.S)
    assert log is not None
    rows = re.findall(r'class="target"><span translate="no">(.*?)</span></td>', log.group(0))
    assert len(rows) == (20 if offset == 0 else 5)
    assert rows[0] == ("Trạm 24" if offset == 0 else "Trạm 04")
    assert ('rel="next"' in log.group(0)) == (offset == 0)


def test_ones_own_new_password_meets_the_same_rule(client: TestClient, runtime: Runtime) -> None:
    viewer = login_as(client, runtime, "viewer")
    for weak in ("aaaaaaaa", "abababab"):
        answer = client.post("/api/v1/users/me/password", headers=viewer, json={
            "current_password": PASSWORD, "new_password": weak})
        assert answer.status_code == 422 and answer.json()["code"] == "weak_password", weak
    kept = client.post("/api/v1/users/me/password", headers=viewer, json={
        "current_password": PASSWORD, "new_password": "mat-khau-moi-1"})
    assert kept.status_code == 204, kept.text
