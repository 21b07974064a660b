"""`pip install .` gives a working install: the wheel carries code, migrations and data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_has_everything_an_install_needs(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True)
    wheel = next(tmp_path.glob("wardcast-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("wardcast/cli.py", "wardcast/protocol.py", "scheduler/app.py",
                     "scheduler/migrations/env.py", "scheduler/migrations/script.py.mako",
                     "scheduler/migrations/versions/0001_initial_schema.py",
                     "agents/station.py", "simulate/cli.py", "media/process.py",
                     "scheduler/py.typed",
                     "scheduler/reports/render/templates/activity_report.html",
                     "scheduler/reports/render/templates/activity_report.css",
                     "scheduler/web/templates/reports/page.html",
                     "scheduler/web/templates/reports/chart.html"):
        assert required in names, required
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "wardcast = wardcast.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    assert not any(n.startswith("tests/") for n in names)


def test_the_agent_stays_light() -> None:
    code = ("import sys, agents.config, agents.station, wardcast.protocol; "
            "heavy = {'fastapi', 'sqlalchemy', 'starlette', 'amqtt'} & set(sys.modules); "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
