"""The scripts `make test` and .ci/run lean on say exactly what their callers read."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent

# Stand-ins for the PostgreSQL tools that chatter on stdout the way the real ones do on a
# machine whose cluster was not shut down cleanly ("Removed stale pid file.").
FAKE_TOOLS = {
    "pg_lsclusters": "echo '15 main 5432 down postgres /var/lib/postgresql/15/main log'",
    "pg_ctlcluster": "echo 'Removed stale pid file.'",
    "pg_createcluster": "echo 'Creating new PostgreSQL cluster 15/main ...'",
    "pg_isready": "exit 0",
    "psql": "echo DO",
    "su": 'shift; shift; sh -c "$1"',
    "sudo": 'if [ "$1" = -u ]; then shift 2; fi; "$@"',
    "id": "echo 1000",
}


def test_test_postgres_prints_only_the_url(tmp_path: Path) -> None:
    for name, body in FAKE_TOOLS.items():
        tool = tmp_path / name
        tool.write_text(f"#!/bin/sh\n{body}\n")
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "test-postgres.sh")], env=env,
                          capture_output=True, text=True, check=True, timeout=30)
    assert done.stdout.count("\n") == 1, done.stdout
    url = make_url(done.stdout.strip())
    assert url.drivername == "postgresql+psycopg"
    assert "Removed stale pid file." in done.stderr
