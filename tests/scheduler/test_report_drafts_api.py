"""The drafts API: the list, a draft's report and files as stored, making one again; a
ward-limited user reaches their wards' drafts only, never the city's; on SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from scheduler.audit.models import AuditEvent
from scheduler.config import Settings
from scheduler.reports import periods
from scheduler.reports.cutoffs import Cutoffs
from scheduler.reports.drafts import service as drafts
from scheduler.reports.schemas import ActivityReport
from scheduler.runtime import Runtime
from scheduler.users import service as users
from tests.scheduler.conftest import PASSWORD
from tests.scheduler.report_drafts_support import DRAFT_DAY, H1, drafted, play_now, stored
from tests.scheduler.report_scenario import (
    EA_TAM,
    TAN_LOI,
    City,
    expected,
    local,
    matches,
)
from tests.support.clock import Clock
from tests.support.procs import free_port

DRAFTS = "/api/v1/reports/drafts"
FILES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats", "pdf": "application/pdf"}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The app's settings: its watchdog and its own drafting stay idle (the test drives
    both)."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url, broker="embedded",
                    mqtt_url=f"mqtt://127.0.0.1:{free_port()}", missed_grace_s=3600,
                    report_draft_dates="")


@pytest.fixture
def city(client: TestClient, runtime: Runtime, clock: Clock) -> City:
    return drafted(runtime.db, runtime.settings, clock)


def _login(client: TestClient, runtime: Runtime, role: str, wards: Sequence[str] = ()
           ) -> dict[str, str]:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with runtime.db.session() as session:
        users.create_user(session=session, username=username, password=PASSWORD, role=role,
                          wards=wards)
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _ids(runtime: Runtime) -> dict[str | None, int]:
    return {ward: draft.id for ward, draft in stored(runtime.db).items()}


def test_the_list_and_each_drafts_report_and_files(client: TestClient, runtime: Runtime,
                                                   city: City, clock: Clock) -> None:
    # the figures as they were: a playback since then is not in the drafts
    play_now(runtime.db, clock, city, "s1", local(date(2026, 6, 11), 7))
    viewer = _login(client, runtime, "viewer")
    listed = client.get(DRAFTS, headers=viewer)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["total"] == 3
    assert [(d["period"], d["ward"]) for d in body["items"]] == [
        ("2026-H1", None), ("2026-H1", EA_TAM), ("2026-H1", TAN_LOI)]
    first = body["items"][0]
    assert (first["kind"], first["from"], first["to"], first["revision"],
            first["generated_by"]) == ("six_months", H1[0].isoformat(), H1[1].isoformat(), 1,
                                       "(scheduler)")
    assert first["generated_at"] == "2026-06-09T23:00:00Z" and first["error"] is None
    assert client.get(DRAFTS, headers=viewer, params={"period": "2026"}).json()["total"] == 0
    ids = _ids(runtime)
    report = client.get(f"{DRAFTS}/{ids[None]}", headers=viewer)
    assert report.status_code == 200 and report.headers["content-type"] == "application/json"
    assert report.json() == stored(runtime.db)[None].figures
    with runtime.db.session() as session:
        ledger_now = expected(session, first=H1[0], last=H1[1], wards=None, now=clock.now)
    got = ActivityReport.model_validate(report.json())
    assert got.totals.played + 1 == ledger_now["city"][""]["played"]
    assert got.generated_at == local(DRAFT_DAY, 6)
    for fmt, kind in FILES.items():
        answer = client.get(f"{DRAFTS}/{ids[TAN_LOI]}", headers=viewer, params={"format": fmt})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith(kind)
        assert (f'filename="du-thao-bao-cao_2026-H1_phuong-tan-loi.{fmt}"'
                in answer.headers["content-disposition"])
        if fmt == "xlsx":
            book = openpyxl.load_workbook(io.BytesIO(answer.content))
            assert book.sheetnames == ["Tổng hợp", "Phường, xã", "Trạm", TAN_LOI]


@pytest.mark.parametrize(("path", "params", "status", "code"), [
    ("/999999", {}, 404, "draft_not_found"),
    ("/0", {}, 422, "invalid"),
    ("/{city}", {"format": "docx"}, 422, "invalid"),
    ("", {"limit": "0"}, 422, "invalid"),
])
def test_bad_requests_are_refused_in_both_languages(
        client: TestClient, runtime: Runtime, city: City, path: str, params: dict[str, str],
        status: int, code: str) -> None:
    answer = client.get(DRAFTS + path.format(city=_ids(runtime)[None]), params=params,
                        headers=_login(client, runtime, "viewer"))
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert " — " in answer.json()["detail"]


def test_a_ward_limited_user_reaches_only_their_wards_drafts(
        client: TestClient, runtime: Runtime, city: City) -> None:
    ids = _ids(runtime)
    limited = _login(client, runtime, "viewer", wards=[EA_TAM])
    listed = client.get(DRAFTS, headers=limited).json()
    assert (listed["total"], [d["ward"] for d in listed["items"]]) == (1, [EA_TAM])
    for fmt in ("json", *FILES):
        own = client.get(f"{DRAFTS}/{ids[EA_TAM]}", headers=limited, params={"format": fmt})
        assert own.status_code == 200, (fmt, own.text)
        for other in (None, TAN_LOI):  # the city's holds every ward; Tân Lợi is not theirs
            refused = client.get(f"{DRAFTS}/{ids[other]}", headers=limited,
                                 params={"format": fmt})
            assert (refused.status_code, refused.json()["code"]) == (403, "outside_wards")
            assert TAN_LOI not in refused.text and "Tân Lợi" not in refused.text
    report = ActivityReport.model_validate(
        client.get(f"{DRAFTS}/{ids[EA_TAM]}", headers=limited).json())
    assert [s.ward for s in report.stations] == [EA_TAM]
    approver = _login(client, runtime, "approver", wards=[EA_TAM])
    for other in (None, TAN_LOI):
        answer = client.post(f"{DRAFTS}/{ids[other]}/regenerate", headers=approver)
        assert (answer.status_code, answer.json()["code"]) == (403, "outside_wards")
    own = client.post(f"{DRAFTS}/{ids[EA_TAM]}/regenerate", headers=approver)
    assert own.status_code == 200 and own.json()["revision"] == 2


def test_making_a_draft_again(client: TestClient, runtime: Runtime, city: City,
                              clock: Clock) -> None:
    ids = _ids(runtime)
    before = stored(runtime.db)[None]
    play_now(runtime.db, clock, city, "s2", local(date(2026, 6, 11), 7))
    clock.at(local(date(2026, 6, 11), 8))
    for role in ("viewer", "editor"):
        denied = client.post(f"{DRAFTS}/{ids[None]}/regenerate",
                             headers=_login(client, runtime, role))
        assert denied.status_code == 403, role
    approver = _login(client, runtime, "approver")
    answer = client.post(f"{DRAFTS}/{ids[None]}/regenerate", headers=approver)
    assert answer.status_code == 200, answer.text
    draft = answer.json()
    assert (draft["id"], draft["revision"], draft["generated_at"]) == (
        ids[None], 2, "2026-06-11T01:00:00Z")
    assert draft["generated_by"].startswith("approver-")
    after = client.get(f"{DRAFTS}/{ids[None]}", headers=approver).json()
    report = ActivityReport.model_validate(after)
    assert before.figures is not None
    assert report.totals.played == ActivityReport.model_validate(
        before.figures).totals.played + 1
    matches(runtime.db, report, first=H1[0], last=H1[1], now=clock.now)
    with runtime.db.session() as session:
        audited = session.scalar(select(AuditEvent).where(
            AuditEvent.action == "report_draft.regenerate"))
    assert audited is not None and audited.username == draft["generated_by"]
    assert audited.target_id == str(ids[None]) and audited.remote_addr is not None


def test_a_draft_without_figures_says_so(client: TestClient, runtime: Runtime,
                                         clock: Clock) -> None:
    period = periods.named("2026-H1", timezone="Asia/Ho_Chi_Minh", cutoffs=Cutoffs())
    with runtime.db.session() as session:
        draft = drafts.failed(session=session, scope=drafts.Scope(period, None), draft=None,
                              error="RuntimeError: hết bộ nhớ", actor=drafts.SCHEDULER)
        session.commit()
        draft_id = draft.id
    admin = _login(client, runtime, "admin")
    listed = client.get(DRAFTS, headers=admin).json()["items"][0]
    assert (listed["generated_at"], listed["error"]) == (None, "RuntimeError: hết bộ nhớ")
    answer = client.get(f"{DRAFTS}/{draft_id}", headers=admin, params={"format": "pdf"})
    assert (answer.status_code, answer.json()["code"]) == (409, "draft_not_ready")
    assert "hết bộ nhớ" in answer.json()["detail"]
