"""The fleet benchmarks at a tiny scale, so that they keep working (figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("command", "title"), [
    (["bench.on_time"], "Benchmark 1 — on-time start, 20 stations"),
    (["bench.fanout", "--repeat", "2", "--media", "own"],
     "Benchmark 2 — emergency fan-out to 20 stations (production install, --to everyone, "
     "--media own)"),
    (["bench.fanout", "--install", "default", "--repeat", "2", "--media", "held"],
     "Benchmark 2 — emergency fan-out to 20 stations (default install, --to everyone, "
     "--media held)"),
    (["bench.on_time", "--install", "default"],
     "Benchmark 1 — on-time start, 20 stations, one shared slot (default install)"),
    (["bench.footprint"], "Benchmark 6 — idle footprint"),
], ids=["on_time", "fanout", "fanout-default", "on_time-default", "footprint"])
def test_benchmark_runs_at_tiny_scale(command: list[str], title: str) -> None:
    done = subprocess.run([sys.executable, "-m", *command, "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert title in done.stdout
    assert "p99" in done.stdout or "RSS" in done.stdout
    if "--repeat" in command:  # every broadcast reached every station
        assert "broadcast 2: call / push" in done.stdout
        assert "p99 over the 2 broadcasts" in done.stdout
        assert "simulators' CPU, call → all started, per broadcast" in done.stdout
    if "own" in command:  # each station's own copy, and the scheduler's pace alone
        assert "each station its own (20 downloads)" in done.stdout
        assert "(1000 of 1000 answered 200" in done.stdout
    if "held" in command:  # no download during the measured broadcasts
        assert "held by every station already" in done.stdout


def test_the_push_alone_is_measured_at_tiny_scale() -> None:
    done = subprocess.run([sys.executable, "-m", "bench.push_alone", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]  # every push logged
    assert "The scheduler's push alone — 100 stations, none connected" in done.stdout
    assert "push, median" in done.stdout
