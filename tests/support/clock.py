"""The scheduler's clock, moved by a test: every loaded scheduler module that reads
``wardcast.protocol.utcnow`` reads this clock instead."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

import pytest

from wardcast import protocol


class Clock:
    """A settable `utcnow`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, moment: datetime) -> Clock:
        self.now = moment
        return self

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def install(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    """Make every loaded `scheduler.*` module that imported utcnow use the clock."""
    real = protocol.utcnow
    for name, module in list(sys.modules.items()):
        if name.startswith("scheduler.") and getattr(module, "utcnow", None) is real:
            monkeypatch.setattr(module, "utcnow", clock)
