"""The pages' login cookie: accepted by the API, refused from other sites, no open redirect."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from scheduler.app import create_app
from scheduler.config import Settings
from scheduler.users import service as users
from tests.support.procs import free_port

BASE = "http://testserver"
PASSWORD = "mat-khau-123"


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("cookie") / "data", broker="embedded",
                        mqtt_url=f"mqtt://127.0.0.1:{free_port()}")
    app = create_app(settings)
    with TestClient(app, base_url=BASE) as test_client:
        with app.state.runtime.db.session() as session:
            users.create_user(session=session, username="duyet", password=PASSWORD,
                              role="approver")
        yield test_client


@pytest.fixture
def client(app_client: TestClient) -> TestClient:
    """The app, with no cookies left from the previous test."""
    app_client.cookies.clear()
    return app_client


def log_in(client: TestClient, *, next_url: str = "/") -> str:
    answer = client.post("/login", data={"username": "duyet", "password": PASSWORD,
                                         "next": next_url},
                         headers={"Origin": BASE}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    return str(answer.headers["location"])


def test_the_api_takes_the_cookie_but_not_from_another_site(client: TestClient) -> None:
    log_in(client)
    assert client.get("/api/v1/users/me").json()["username"] == "duyet"
    body = {"name": "kịch bản"}
    assert client.post("/api/v1/users/me/tokens", json=body).status_code == 403  # no Origin
    refused = client.post("/api/v1/users/me/tokens", json=body,
                          headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf"
    assert client.post("/api/v1/users/me/tokens", json=body,
                       headers={"Origin": BASE}).status_code == 201
    assert client.post("/api/v1/users/me/tokens", json=body,
                       headers={"Referer": f"{BASE}/bulletins"}).status_code == 201


def test_logging_out_revokes_the_token(client: TestClient) -> None:
    log_in(client)
    token = client.cookies["wardcast_session"]
    answer = client.post("/logout", headers={"Origin": BASE}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    stale = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert stale.status_code == 401


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example",
                                    "javascript:alert(1)"])
def test_next_never_leaves_the_site(client: TestClient, target: str) -> None:
    assert log_in(client, next_url=target) == "/"


def test_next_leads_back_to_the_page_asked_for(client: TestClient) -> None:
    assert log_in(client, next_url="/log?status=missed") == "/log?status=missed"


def test_pages_answer_errors_as_pages_and_the_api_as_json(client: TestClient) -> None:
    assert client.get("/log", follow_redirects=False).headers["location"] == "/login?next=/log"
    log_in(client)
    page = client.get("/bulletins/999999")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "Không tìm thấy bản tin 999999" in page.text
    api = client.get("/api/v1/bulletins/999999")
    assert api.status_code == 404 and api.json()["code"] == "bulletin_not_found"
