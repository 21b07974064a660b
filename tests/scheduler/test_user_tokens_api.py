"""A user's tokens end with their password or their account; admins list and revoke them."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from scheduler.runtime import Runtime
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD

NEW_PASSWORD = "mat-khau-moi-456"


def _user(client: TestClient, admin: dict[str, str], role: str = "editor",
          wards: list[str] | None = None) -> tuple[int, str]:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    created = client.post("/api/v1/users", headers=admin, json={
        "username": username, "password": PASSWORD, "role": role, "wards": wards or []})
    assert created.status_code == 201, created.text
    return int(created.json()["id"]), username


def _session(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", data={"username": username,
                                                     "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _script_token(client: TestClient, session: dict[str, str], name: str = "báo cáo đêm"
                  ) -> dict[str, str]:
    created = client.post("/api/v1/users/me/tokens", headers=session, json={"name": name})
    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    assert secret.startswith("wca_")
    return {"Authorization": f"Bearer {secret}"}


def _works(client: TestClient, headers: dict[str, str]) -> bool:
    answer = client.get("/api/v1/users/me", headers=headers)
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def test_an_admin_password_reset_ends_the_users_api_tokens_and_sessions(
        client: TestClient, admin: dict[str, str]) -> None:
    user_id, username = _user(client, admin)
    session = _session(client, username)
    script = _script_token(client, session)
    assert _works(client, script) and _works(client, session)

    reset = client.patch(f"/api/v1/users/{user_id}", headers=admin,
                         json={"password": NEW_PASSWORD})
    assert reset.status_code == 200, reset.text
    assert not _works(client, script), "a wca_ token outlived the password reset"
    assert not _works(client, session)
    assert _works(client, _session(client, username, NEW_PASSWORD))


def test_deactivating_and_reactivating_a_user_ends_its_api_tokens(
        client: TestClient, admin: dict[str, str]) -> None:
    user_id, username = _user(client, admin)
    session = _session(client, username)
    script = _script_token(client, session)

    assert client.patch(f"/api/v1/users/{user_id}", headers=admin,
                        json={"active": False}).status_code == 200
    assert not _works(client, script)
    assert client.patch(f"/api/v1/users/{user_id}", headers=admin,
                        json={"active": True}).status_code == 200
    assert not _works(client, script), "a wca_ token came back with the re-activation"
    assert not _works(client, session)
    assert _works(client, _session(client, username))
    # a change that leaves the account as it was logs nobody out
    again = _session(client, username)
    assert client.patch(f"/api/v1/users/{user_id}", headers=admin,
                        json={"active": True}).status_code == 200
    assert _works(client, again)


def test_a_role_change_keeps_tokens_but_their_rights_follow_the_user_at_once(
        client: TestClient, admin: dict[str, str]) -> None:
    """Tokens carry no rights of their own: a demoted admin's script loses admin routes."""
    user_id, username = _user(client, admin, role="admin")
    script = _script_token(client, _session(client, username))
    assert client.get("/api/v1/users", headers=script).status_code == 200
    assert client.patch(f"/api/v1/users/{user_id}", headers=admin,
                        json={"role": "viewer", "wards": ["P9"]}).status_code == 200
    assert _works(client, script)
    assert client.get("/api/v1/users", headers=script).status_code == 403
    assert client.get("/api/v1/users/me", headers=script).json()["wards"] == ["P9"]


def test_changing_ones_own_password_ends_every_other_token(
        client: TestClient, admin: dict[str, str]) -> None:
    _user_id, username = _user(client, admin)
    here, elsewhere = _session(client, username), _session(client, username)
    script = _script_token(client, here)

    wrong = client.post("/api/v1/users/me/password", headers=here, json={
        "current_password": "khong-dung-1", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["code"] == "wrong_password"
    assert wrong.json()["field"] == "current_password"
    assert _works(client, script) and _works(client, elsewhere)

    changed = client.post("/api/v1/users/me/password", headers=here, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 204, changed.text
    assert _works(client, here), "the session that changed the password goes on"
    assert not _works(client, elsewhere) and not _works(client, script)
    refused = client.post("/api/v1/auth/token", data={"username": username,
                                                      "password": PASSWORD})
    assert refused.status_code == 401
    assert _works(client, _session(client, username, NEW_PASSWORD))
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=admin,
                                                params={"target_type": "user"}).json()["items"]]
    assert "user.password" in actions


def test_guessing_the_current_password_is_slowed_down_like_a_login(
        client: TestClient, admin: dict[str, str]) -> None:
    _user_id, username = _user(client, admin)
    here = _session(client, username)
    for _ in range(5):
        answer = client.post("/api/v1/users/me/password", headers=here, json={
            "current_password": "khong-dung-1", "new_password": NEW_PASSWORD})
        assert answer.status_code == 422, answer.text
    blocked = client.post("/api/v1/users/me/password", headers=here, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert blocked.status_code == 429, blocked.text
    assert int(blocked.headers["retry-after"]) >= 1


def test_an_admin_lists_and_revokes_a_users_tokens(client: TestClient, runtime: Runtime,
                                                   admin: dict[str, str]) -> None:
    user_id, username = _user(client, admin)
    session = _session(client, username)
    nightly = _script_token(client, session, "báo cáo đêm")
    weekly = _script_token(client, session, "báo cáo tuần")
    assert _works(client, nightly)  # marks it used

    listed = client.get(f"/api/v1/users/{user_id}/tokens", headers=admin)
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert [(r["kind"], r["name"]) for r in rows] == [
        ("session", None), ("api", "báo cáo đêm"), ("api", "báo cáo tuần")]
    assert rows[1]["last_used_at"] is not None and rows[2]["last_used_at"] is None
    assert all(r["expires_at"] > r["created_at"] for r in rows)
    assert "wca_" not in listed.text and "wcu_" not in listed.text
    assert not any("token" in key for row in rows for key in row)

    gone = client.delete(f"/api/v1/users/{user_id}/tokens/{rows[1]['id']}", headers=admin)
    assert gone.status_code == 204, gone.text
    assert not _works(client, nightly)
    assert _works(client, weekly) and _works(client, session)

    everything = client.delete(f"/api/v1/users/{user_id}/tokens", headers=admin)
    assert everything.status_code == 200 and everything.json() == {"revoked": 2}
    assert not _works(client, weekly) and not _works(client, session)
    assert client.get(f"/api/v1/users/{user_id}/tokens", headers=admin).json() == []

    log = client.get("/api/v1/audit", headers=admin, params={"limit": 10}).json()["items"]
    revoked = [(e["action"], e["target_id"], e["detail"]) for e in log
               if e["action"].startswith("token.revoke")]
    assert revoked == [("token.revoke_all", str(user_id), {"revoked": 2}),
                       ("token.revoke", str(rows[1]["id"]),
                        {"name": "báo cáo đêm", "user_id": user_id})]
    assert "wca_" not in str(log)


def test_only_an_admin_of_every_ward_manages_other_users_tokens(
        client: TestClient, runtime: Runtime, admin: dict[str, str]) -> None:
    user_id, username = _user(client, admin)
    other_id, other = _user(client, admin)
    mine = _script_token(client, _session(client, username))
    _session(client, other)
    theirs = client.get(f"/api/v1/users/{other_id}/tokens", headers=admin).json()
    ward_admin = _session(client, _user(client, admin, role="admin", wards=["P2"])[1])
    for headers in (_session(client, username), ward_admin):
        assert client.get(f"/api/v1/users/{user_id}/tokens",
                          headers=headers).status_code == 403
        assert client.delete(f"/api/v1/users/{user_id}/tokens",
                             headers=headers).status_code == 403
    # a token is revoked only through the user it belongs to
    crossed = client.delete(f"/api/v1/users/{user_id}/tokens/{theirs[0]['id']}", headers=admin)
    assert crossed.status_code == 404 and crossed.json()["field"] == "token_id"
    unknown = client.get("/api/v1/users/999999/tokens", headers=admin)
    assert unknown.status_code == 404 and unknown.json()["code"] == "user_not_found"
    assert _works(client, mine)
    with runtime.db.session() as session:
        assert len(users.live_tokens(session=session, user_id=other_id)) == 1
