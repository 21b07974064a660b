"""Report drafts in the app: its job makes the drafts due when it starts (a draft day missed
while it was down), and the home page shows them in Vietnamese, within the reader's wards,
with a button to make one again for approvers; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scheduler.app import create_app
from scheduler.config import Settings
from scheduler.db import Database
from scheduler.runtime import Runtime
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD
from tests.scheduler.report_drafts_support import drafted, stored
from tests.scheduler.report_scenario import EA_TAM, TAN_LOI, build, local
from tests.support.clock import Clock
from tests.support.procs import free_port, wait_for

BASE = "http://testserver"


def _settings(tmp_path: Path, database_url: str, **more: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, broker="embedded",
                    mqtt_url=f"mqtt://127.0.0.1:{free_port()}", missed_grace_s=3600, **more)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The app's own drafting stays idle: the test makes the drafts."""
    return _settings(tmp_path, database_url, report_draft_dates="")


def test_the_app_makes_the_drafts_due_when_it_starts(
        db: Database, clock: Clock, tmp_path: Path, database_url: str) -> None:
    build(db, clock)
    started = clock.at(local(date(2026, 6, 12), 8)).now  # down on the 10th, back on the 12th
    with TestClient(create_app(_settings(tmp_path, database_url))):
        wait_for(lambda: len(stored(db)) == 3, timeout=60, what="the drafts made at start-up")
    made = stored(db)
    assert set(made) == {None, EA_TAM, TAN_LOI}
    for draft in made.values():
        assert (draft.kind, draft.period, draft.generated_at, draft.generated_by) == (
            "six_months", "2026-H1", started, "(scheduler)")
        assert draft.figures is not None


def _log_in(client: TestClient, runtime: Runtime, role: str, wards: Sequence[str] = ()) -> None:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD, role=role,
                          wards=wards)
    client.cookies.clear()
    answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "next": "/"},
                         headers={"Origin": BASE}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def _section(client: TestClient) -> str:
    page = client.get("/")
    assert page.status_code == 200, page.text
    found = re.search(r'<section class="card" id="report-drafts">.*?</section>', page.text,
                      re.S)
    assert found is not None, "no report drafts on the home page"
    return found.group(0)


def _rows(section: str) -> dict[str, str]:
    """The drafts' rows by the scope they show."""
    found = {}
    for row in re.findall(r'<tr data-draft="\d+".*?</tr>', section, re.S):
        scope = re.search(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert scope is not None
        found[re.sub(r"<[^>]+>", "", scope.group(1)).strip()] = row
    return found


def test_the_home_page_shows_the_drafts_within_the_readers_wards(
        client: TestClient, runtime: Runtime, clock: Clock) -> None:
    drafted(runtime.db, runtime.settings, clock)
    ids = {ward: draft.id for ward, draft in stored(runtime.db).items()}
    _log_in(client, runtime, "viewer")
    section = _section(client)
    assert "Dự thảo báo cáo 6 tháng đầu năm 2026" in section
    assert "từ 15/12/2025 đến 14/06/2026" in section
    rows = _rows(section)
    assert list(rows) == ["Toàn thành phố", EA_TAM, TAN_LOI]
    for scope, ward in (("Toàn thành phố", None), (EA_TAM, EA_TAM), (TAN_LOI, TAN_LOI)):
        assert "06:00:00 10/06/2026" in rows[scope]
        for fmt in ("pdf", "xlsx"):
            assert f'href="/api/v1/reports/drafts/{ids[ward]}?format={fmt}"' in rows[scope]
    assert "/regenerate" not in section  # a viewer cannot make a draft again

    _log_in(client, runtime, "viewer", wards=[EA_TAM])
    section = _section(client)
    assert list(_rows(section)) == [EA_TAM]
    assert "Toàn thành phố" not in section and TAN_LOI not in section


def test_an_approver_makes_a_draft_again_from_the_home_page(
        client: TestClient, runtime: Runtime, clock: Clock) -> None:
    drafted(runtime.db, runtime.settings, clock)
    ids = {ward: draft.id for ward, draft in stored(runtime.db).items()}
    clock.at(local(date(2026, 6, 11), 9))
    _log_in(client, runtime, "viewer")
    refused = client.post(f"/drafts/{ids[None]}/regenerate", headers={"Origin": BASE},
                          follow_redirects=False)
    assert refused.status_code == 403

    _log_in(client, runtime, "approver", wards=[EA_TAM])
    assert f'action="/drafts/{ids[EA_TAM]}/regenerate"' in _section(client)
    for other in (None, TAN_LOI):
        refused = client.post(f"/drafts/{ids[other]}/regenerate", headers={"Origin": BASE},
                              follow_redirects=False)
        assert refused.status_code == 403, other
    answer = client.post(f"/drafts/{ids[EA_TAM]}/regenerate", headers={"Origin": BASE},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/#report-drafts"
    again = stored(runtime.db)
    assert (again[EA_TAM].revision, again[EA_TAM].generated_at) == (2, clock.now)
    assert again[None].revision == again[TAN_LOI].revision == 1
    home = client.get("/")
    assert "Đã lập lại dự thảo với số liệu hiện tại." in home.text
    assert "09:00:00 11/06/2026" in _rows(_section(client))[EA_TAM]
