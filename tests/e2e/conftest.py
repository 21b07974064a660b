"""Fixtures the end-to-end tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import Server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A running `wardcast serve` that declares a slot missed 3 s after it (checked twice a
    second), so that a test of what was missed does not wait minutes."""
    running = Server(tmp_path / "server").setup(missed_grace_s="3",
                                                watchdog_interval_s="0.5").start()
    yield running
    running.stop()
