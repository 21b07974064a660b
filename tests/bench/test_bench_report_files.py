"""The report files' benchmark at a tiny scale, so that it keeps working (figures unchecked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]


def test_the_report_files_benchmark_runs_at_tiny_scale() -> None:
    done = subprocess.run([sys.executable, "-m", "bench.report_files", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Report files — 60 stations in 3 wards" in done.stdout
    assert [line.split()[0] for line in done.stdout.splitlines()[-2:]] == ["xlsx", "pdf"]
