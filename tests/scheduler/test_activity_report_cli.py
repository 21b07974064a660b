"""`wardcast report activity`: a real process writes the report the route answers."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from scheduler.db import Database
from scheduler.reports.kept.models import Kept
from scheduler.reports.schemas import ActivityReport
from tests.scheduler.report_scenario import EA_TAM, FIRST, LAST, build, matches
from tests.support import clock as clocks
from tests.support.clock import Clock

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def city_db(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    clock = Clock(datetime(2026, 5, 26, tzinfo=UTC))
    clocks.install(monkeypatch, clock)
    build(db, clock)
    yield db


def _report(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WARDCAST_DATA_DIR": str(tmp_path / "data"),
           "WARDCAST_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "wardcast.cli", "report", "activity", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_command_writes_json_and_csv(city_db: Database, database_url: str,
                                         tmp_path: Path) -> None:
    out = tmp_path / "bao-cao.json"
    done = _report(tmp_path, database_url, "--from", FIRST.isoformat(), "--to", LAST.isoformat(),
                   "--format", "json", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"wrote {out}: json, Từ 02/06/2026 đến 04/06/2026, 3 station(s) in 2 ward(s)"]
    report = ActivityReport.model_validate(json.loads(out.read_text()))
    # read after the period ended: its availability runs to the end of the period
    matches(city_db, report, now=datetime.now(UTC))
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # an ordinary file, not mkstemp's
    sheet = tmp_path / "ea-tam.csv"
    done = _report(tmp_path, database_url, "--period", "2026-H1", "--ward", EA_TAM,
                   "--format", "csv", "--out", str(sheet))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(sheet.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["Cấp"] for r in rows] == ["Trạm", "Phường", "Thành phố"]
    assert rows[0]["Trạm"] == "Trạm buôn Ea Tam" and rows[0]["Phường"] == EA_TAM


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2026-06-04", "--to", "2026-06-02"], "`to` is before `from`"),
    (["--from", "2026-06-04"], "give both from and to"),
    (["--period", "2026-H1", "--ward", "Phường không có"], "no station in ward(s)"),
    (["--period", "2026-Q1"], "period must be like 2026-H1"),
], ids=["backwards", "no-to", "unknown-ward", "bad-period"])
def test_the_command_refuses_what_it_cannot_do_and_writes_nothing(
        city_db: Database, database_url: str, tmp_path: Path, args: list[str],
        message: str) -> None:
    out = tmp_path / "report.csv"
    done = _report(tmp_path, database_url, *args, "--format", "csv", "--out", str(out))
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() and list(tmp_path.glob(".report.csv.*")) == []


def test_the_command_says_when_the_folder_is_missing(city_db: Database, database_url: str,
                                                     tmp_path: Path) -> None:
    done = _report(tmp_path, database_url, "--period", "2026", "--format", "json", "--out",
                   str(tmp_path / "no-such-folder" / "report.json"))
    assert done.returncode == 2 and "no-such-folder" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_keep_then_report_reads_the_same_figures(city_db: Database, database_url: str,
                                                 tmp_path: Path) -> None:
    env = {**os.environ, "WARDCAST_DATA_DIR": str(tmp_path / "data"),
           "WARDCAST_DATABASE_URL": database_url}
    kept = subprocess.run([sys.executable, "-m", "wardcast.cli", "report", "keep"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.startswith("kept tallies before ") and ": 3 station(s)" in kept.stdout
    with city_db.session() as session:
        assert session.scalar(select(func.count()).select_from(Kept)) == 3
    # 15 May to 15 June is a whole tally month of this span, long kept: read from kept rows
    first = date(2026, 5, 10)
    out = tmp_path / "bao-cao.json"
    done = _report(tmp_path, database_url, "--from", first.isoformat(), "--to",
                   LAST.isoformat(), "--format", "json", "--out", str(out))
    assert done.returncode == 0, done.stderr
    report = ActivityReport.model_validate(json.loads(out.read_text()))
    matches(city_db, report, first=first, now=datetime.now(UTC))
