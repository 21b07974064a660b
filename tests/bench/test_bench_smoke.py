"""The fleet benchmarks at a tiny scale, so that they keep working (figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("module", "title"), [
    ("bench.on_time", "Benchmark 1 — on-time start, 20 stations"),
    ("bench.fanout", "Benchmark 2 — emergency fan-out to 20 stations"),
    ("bench.footprint", "Benchmark 6 — idle footprint"),
])
def test_benchmark_runs_at_tiny_scale(module: str, title: str) -> None:
    done = subprocess.run([sys.executable, "-m", module, "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert title in done.stdout
    assert "p99" in done.stdout or "RSS" in done.stdout
