"""Calendar feeds: one station's calendar each, read-only, revocable, audited; login and API
tokens (10 years long, able to change everything) no longer travel in calendar addresses."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from icalendar import Calendar

from scheduler.runtime import Runtime
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD, login_as, station

API = "/api/v1"


def _user(client: TestClient, runtime: Runtime, role: str, *,
          wards: tuple[str, ...] = ()) -> tuple[int, dict[str, str]]:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        user_id = users.create_user(session=session, username=username, password=PASSWORD,
                                    role=role, wards=wards).id
    token = client.post(f"{API}/auth/token", data={"username": username, "password": PASSWORD})
    return user_id, {"Authorization": f"Bearer {token.json()['access_token']}"}


def _feed(client: TestClient, headers: dict[str, str], station_id: object,
          name: str | None = None) -> dict[str, Any]:
    answer = client.post(f"{API}/feeds", headers=headers,
                         json={"station_id": station_id, "name": name})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _path(feed: dict[str, Any]) -> str:
    return str(feed["url"]).removeprefix("http://testserver")


def test_a_feed_reads_one_station_and_nothing_else(client: TestClient, runtime: Runtime,
                                                   admin: dict[str, str]) -> None:
    mine, other = station(client, admin, "Trạm Một"), station(client, admin, "Trạm Hai")
    _viewer_id, viewer = _user(client, runtime, "viewer")
    feed = _feed(client, viewer, mine["id"], name="điện thoại")
    assert feed["token"].startswith("wcf_")
    assert feed["url"] == f"http://testserver{API}/feeds/{feed['token']}/calendar.ics"
    assert (feed["station_id"], feed["station_name"], feed["name"]) == (
        mine["id"], "Trạm Một", "điện thoại")

    answer = client.get(_path(feed))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    assert Calendar.from_ical(answer.content)["x-wr-calname"] == "wardcast – Trạm Một"

    as_bearer = {"Authorization": f"Bearer {feed['token']}"}
    for path in ("/stations", f"/stations/{mine['id']}/calendar.ics", "/users/me", "/feeds"):
        assert client.get(API + path, headers=as_bearer).status_code == 401, path
    assert client.post(f"{API}/feeds", headers=as_bearer,
                       json={"station_id": mine["id"]}).status_code == 401
    for params in ({"token": feed["token"]}, {}):
        assert client.get(f"{API}/stations/{other['id']}/calendar.ics",
                          params=params).status_code == 401

    listed = client.get(f"{API}/feeds", headers=viewer).json()
    assert listed["total"] == 1 and "token" not in listed["items"][0]
    assert listed["items"][0]["last_used_at"] is not None  # it was read just now


def test_login_and_api_tokens_no_longer_open_a_calendar(client: TestClient,
                                                        admin: dict[str, str]) -> None:
    target = station(client, admin, "Trạm Một")
    path = f"{API}/stations/{target['id']}/calendar.ics"
    api_token = client.post(f"{API}/users/me/tokens", headers=admin,
                            json={"name": "lịch"}).json()["token"]
    login_token = admin["Authorization"].removeprefix("Bearer ")
    for token in (api_token, login_token):
        refused = client.get(path, params={"token": token})
        assert refused.status_code == 401
        assert "POST /api/v1/feeds" in refused.json()["detail"]
        assert client.get(f"{API}/feeds/{token}/calendar.ics").status_code == 401
    # the documented route still answers a token in the Authorization header
    assert client.get(path, headers={"Authorization": f"Bearer {api_token}"}).status_code == 200


def test_feeds_are_revoked_by_their_owner_or_an_admin_and_audited(
        client: TestClient, runtime: Runtime, admin: dict[str, str]) -> None:
    target = station(client, admin, "Trạm Một")
    _editor_id, editor = _user(client, runtime, "editor")
    _viewer_id, viewer = _user(client, runtime, "viewer")
    first, second = _feed(client, editor, target["id"]), _feed(client, editor, target["id"])
    _feed(client, viewer, target["id"])

    assert client.get(f"{API}/feeds", headers=editor).json()["total"] == 2
    assert client.get(f"{API}/feeds", headers=admin).json()["total"] == 3
    assert client.delete(f"{API}/feeds/{first['id']}", headers=viewer).status_code == 404
    assert client.delete(f"{API}/feeds/{first['id']}", headers=editor).status_code == 204
    assert client.delete(f"{API}/feeds/{second['id']}", headers=admin).status_code == 204
    for feed in (first, second):
        gone = client.get(_path(feed))
        assert gone.status_code == 401 and "thu hồi" in gone.json()["detail"]
    assert client.get(f"{API}/feeds", headers=editor).json()["total"] == 0

    log = client.get(f"{API}/audit", headers=admin,
                     params={"target_type": "calendar_feed"}).json()["items"]
    assert sorted(e["action"] for e in log) == ["feed.create"] * 3 + ["feed.revoke"] * 2
    assert all(e["detail"]["station_id"] == target["id"] for e in log)
    assert "wcf_" not in str(log)  # the secret itself is never written down


def test_ward_limits_hold_for_feeds(client: TestClient, runtime: Runtime,
                                    admin: dict[str, str]) -> None:
    p1 = station(client, admin, "Trạm P1")  # in "Phường 1"
    p2 = client.post(f"{API}/stations", headers=admin,
                     json={"name": "Trạm P2", "ward": "P2"}).json()
    user_id, limited = _user(client, runtime, "viewer", wards=("P2",))
    refused = client.post(f"{API}/feeds", headers=limited, json={"station_id": p1["id"]})
    assert refused.status_code == 403 and refused.json()["field"] == "station_id"
    feed = _feed(client, limited, p2["id"])
    assert client.get(_path(feed)).status_code == 200
    _admin_p1_id, admin_p1 = _user(client, runtime, "admin", wards=("Phường 1",))
    assert client.get(f"{API}/feeds", headers=admin_p1).json()["total"] == 0
    assert client.delete(f"{API}/feeds/{feed['id']}", headers=admin_p1).status_code == 404

    # the feed answers only while its owner may see the station, and is active
    client.patch(f"{API}/users/{user_id}", headers=admin,
                 json={"wards": ["P3"]}).raise_for_status()
    assert client.get(_path(feed)).status_code == 403
    client.patch(f"{API}/users/{user_id}", headers=admin,
                 json={"wards": ["P2"], "active": False}).raise_for_status()
    assert client.get(_path(feed)).status_code == 401
    client.patch(f"{API}/users/{user_id}", headers=admin,
                 json={"active": True}).raise_for_status()
    assert client.get(_path(feed)).status_code == 200


def test_the_station_page_gives_a_feed_address(client: TestClient, runtime: Runtime,
                                               admin: dict[str, str]) -> None:
    target = station(client, admin, "Trạm Một")
    viewer = login_as(client, runtime, "viewer")
    client.cookies.set("wardcast_session", viewer["Authorization"].removeprefix("Bearer "))
    board = client.get("/stations/fragment")
    assert f'href="/stations/{target["id"]}/feeds"' in board.text
    page = f"/stations/{target['id']}/feeds"
    assert client.post(page, data={"name": "máy tính"}).status_code == 403  # no Origin: CSRF
    made = client.post(page, data={"name": "máy tính"}, headers={"Origin": "http://testserver"})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    feed = client.get(f"{API}/feeds", headers=viewer).json()["items"][0]
    address = made.text.split('id="feed-url" value="', 1)[1].split('"', 1)[0]
    client.cookies.clear()
    assert client.get(address.removeprefix("http://testserver")).status_code == 200
    client.cookies.set("wardcast_session", viewer["Authorization"].removeprefix("Bearer "))
    listed = client.get(page)
    assert "máy tính" in listed.text and address not in listed.text  # shown once only
    revoked = client.post(f"{page}/{feed['id']}/revoke", headers={"Origin": "http://testserver"},
                          follow_redirects=False)
    assert revoked.status_code == 303
    assert client.get(address.removeprefix("http://testserver")).status_code == 401
