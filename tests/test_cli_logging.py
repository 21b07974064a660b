"""The command line says what it did, not what its libraries did (issue 14)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _wardcast(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WARDCAST_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", "wardcast.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_users_create_prints_one_line(tmp_path: Path) -> None:
    done = _wardcast(tmp_path, "users", "create", "--username", "thu", "--password",
                     "mat-khau-dai-du", "--role", "editor")
    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).splitlines() == ["created user thu (editor)"]


def test_library_logs_come_back_when_asked(tmp_path: Path) -> None:
    done = _wardcast(tmp_path, "--library-log-level", "INFO", "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert "alembic.runtime.migration" in done.stderr
