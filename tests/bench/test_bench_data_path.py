"""The data-path benchmarks (3 ingestion, 4 upload, 5 planning, 7 clashes, 8 log files,
9 reports) at a tiny scale.

Their figures are not checked here (speed targets belong in the benchmarks); what is checked
is that each still runs end to end on real parts and that what it counts adds up.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_ENV, postgres_url

pytestmark = [pytest.mark.bench, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]


def run_bench(module: str) -> str:
    """Run one benchmark with --quick and return what it printed."""
    env = {**os.environ, POSTGRES_ENV: postgres_url()}
    done = subprocess.run([sys.executable, "-m", module, "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def rows(output: str, first: str) -> list[list[str]]:
    """Return the table rows whose first cell is first, split on runs of spaces."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.splitlines()
            if line.startswith(first + " ")]


def test_ingestion_stores_every_event_on_both_databases() -> None:
    output = run_bench("bench.ingestion")
    assert "Event ingestion: 400 events" in output
    for kind in ("sqlite", "postgres"):
        found = {row[1]: row for row in rows(output, kind)}
        for ingester in ("dispatcher", "floor"):
            _, _, events, stored, lost, *_ = found[ingester]
            assert (events, stored, lost) == ("400", "400", "0"), found[ingester]
        assert found["ratio floor/dispatcher"][-1].endswith("x")


def test_upload_normalises_both_sides_and_reports_memory() -> None:
    output = run_bench("bench.upload")
    assert "Upload processing: 0.5 min of speech" in output
    ours = rows(output, "wardcast")[0]
    assert abs(float(ours[5]) - -16.0) <= 1.0, ours  # the pipeline still reaches its target
    assert float(ours[4]) > 0 and float(ours[3]) > 0  # the tree and ffmpeg were sampled
    assert rows(output, "baseline") and rows(output, "ratio wardcast/baseline")


def test_planning_creates_then_replans_on_both_databases() -> None:
    output = run_bench("bench.planning")
    assert "Planning: 200 stations" in output
    for kind in ("sqlite", "postgres"):
        steps = {row[1]: row for row in rows(output, kind)}
        # 200 stations x 2 city-wide slots x 2 days + 2 wards' slots x 100 stations x 2 days
        assert steps["first plan"][3] == "1,200", steps
        assert steps["plan again (no-op)"][3] == "0", steps
        # the 06:00 slot moves to 06:30: both of its days are cancelled and made again
        assert steps["edit one timetable"][3:5] == ["400", "400"], steps


def test_clash_check_accepts_a_free_slot_and_refuses_a_taken_one() -> None:
    output = run_bench("bench.clashes")
    assert "Clash check: 10 daily timetables on 5 stations, 366-day look-ahead" in output
    for kind in ("sqlite", "postgres"):
        steps = {row[1]: row for row in rows(output, kind)}
        assert steps["create, no clash"][3] == "accepted", steps
        assert steps["create, clash"][3] == "refused (409)", steps


def test_log_files_hold_every_row_on_both_databases() -> None:
    output = run_bench("bench.log_export")
    assert "Playback log files: 2,000 playbacks on 10 stations" in output
    for kind in ("sqlite", "postgres"):
        found = {(row[1], row[2]): row for row in rows(output, kind)}
        for file in ("csv", "xlsx"):
            assert found[(file, "whole log")][3] == "2,000", found
            assert found[(file, "one station")][3] == "200", found


def test_the_activity_report_agrees_with_its_floor() -> None:
    output = run_bench("bench.reports")  # it checks the city's figures against the floor's
    assert "Activity report: 200 stations × 2 a day × 365 days (146,000 playbacks)" in output
    report, floor = rows(output, "report")[0], rows(output, "floor")[0]
    assert report[0] == "report (json)" and float(report[1]) > 0, report
    assert floor[0] == "floor (one SQL)" and float(floor[1]) > 0, floor
    assert rows(output, "ratio")[0][1].endswith("x")
    assert "peak RSS during the reports:" in output
