"""The periodic jobs run on the machine's clock, whatever the domain's utcnow says.

A test (or a replica whose domain clock is moved) that puts utcnow months back must not have
the jobs first due months before APScheduler's now: APScheduler 3 then counts every missed
run of a 2 s interval (millions) before coalescing them, for seconds of CPU at each check.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from scheduler import jobs
from scheduler.config import Settings
from scheduler.runtime import Runtime
from tests.support import clock as clocks
from tests.support.clock import Clock

MONTHS_BACK = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)


def test_jobs_are_first_due_on_the_machines_clock(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    clocks.install(monkeypatch, Clock(MONTHS_BACK))
    settings = Settings(data_dir=tmp_path / "data", missed_grace_s=60)
    runtime = cast(Runtime, SimpleNamespace(settings=settings))
    scheduler = BackgroundScheduler(timezone="UTC")  # not started: jobs keep their first time
    before = datetime.now(UTC)
    jobs._lead(scheduler, runtime, True)
    first = {job.id: job.next_run_time for job in scheduler.get_jobs()}
    assert set(jobs.SINGLETON_JOBS) <= set(first)
    assert all(when >= before - timedelta(seconds=1) for when in first.values()), first
    assert first["watchdog"] >= before + timedelta(seconds=59)
