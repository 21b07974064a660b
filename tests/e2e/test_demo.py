"""`wardcast demo` as a new user runs it: it starts, schedules, and its stations play."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from tests.support.procs import Proc, free_port, wait_for

pytestmark = pytest.mark.e2e


def test_demo_runs_and_its_stations_play(tmp_path: Path) -> None:
    """Run the installed console script from outside the source tree, as a new user would."""
    script = Path(sys.executable).with_name("wardcast")
    assert script.exists(), "install the package (make test does `pip install .[test]`)"
    root = tmp_path / "demo"
    argv = [str(script), "demo", "--port", str(free_port()), "--mqtt-port", str(free_port()),
            "--dir", str(root), "--lead-seconds", "8"]
    demo = Proc(argv, log=tmp_path / "demo.log", cwd=tmp_path).start()
    try:
        wait_for(lambda: "wardcast demo is running" in demo.output(), timeout=120,
                 what="the demo to start")
        assert "/docs" in demo.output() and str(root / "played") in demo.output()
        folders = lambda: sorted((root / "played").glob("station-*"))  # noqa: E731
        assert len(folders()) == 3
        wait_for(lambda: all(len(list(f.glob("*.wav"))) == 1 for f in folders())
                 and not any(f.stat().st_size < 1000 for d in folders() for f in d.glob("*.wav")),
                 timeout=90, what="every demo station to play the sample bulletin")
    finally:
        demo.stop(sig=signal.SIGINT, timeout=30)
    assert demo.popen is not None and demo.popen.returncode == 0, demo.output()[-3000:]
