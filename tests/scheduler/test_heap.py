"""The scheduler keeps what start-up built out of the collector's full passes while it runs."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from scheduler.app import create_app
from scheduler.config import Settings


def test_start_up_objects_are_frozen_while_the_app_runs_and_given_back_after(
        settings: Settings) -> None:
    gc.unfreeze()
    app = create_app(settings)
    with TestClient(app):
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the app, its routes, SQLAlchemy's and pydantic's tables...
    assert gc.get_freeze_count() == 0  # a stopped app in a longer process gives them back
