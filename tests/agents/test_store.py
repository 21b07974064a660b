"""The agent's SQLite store: plan replacement, playback records and the outbox."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agents.store import Store
from wardcast.protocol import PlanItem

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def item(playback_id: int, minutes: int = 0) -> PlanItem:
    return PlanItem(playback_id=playback_id, bulletin_id=1, scheduled_at=T0 + timedelta(
        minutes=minutes), duration_ms=1000, sha256="a" * 64, media_path="/m/a.opus")


def test_replace_plan_reports_only_new_items_and_drops_absent_ones(tmp_path: Path) -> None:
    store = Store(tmp_path / "agent.sqlite3")
    assert [i.playback_id for i in store.replace_plan([item(1, 5), item(2, 1)])] == [1, 2]
    added = store.replace_plan([item(2, 1), item(3, 9)])
    assert [i.playback_id for i in added] == [3]
    assert [i.playback_id for i in store.pending()] == [2, 3]  # by scheduled_at
    assert not store.is_pending(1)


def test_played_items_never_come_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "agent.sqlite3")
    store.replace_plan([item(1), item(2, 1)])
    store.mark_started(1)
    store.mark_final(1, "finished")
    store.mark_started(2)  # playing when the agent died
    assert store.replace_plan([item(1), item(2, 1), item(3, 2)]) == [item(3, 2)]
    assert [i.playback_id for i in store.pending()] == [3]
    assert store.started_unfinished() == [2]
    assert store.final_state(1) == "finished"


def test_downloaded_is_recorded_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "agent.sqlite3")
    assert store.mark_downloaded(7)
    assert not store.mark_downloaded(7)


def test_outbox_keeps_order_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    store = Store(path)
    for n in range(5):
        store.outbox_add(f"event-{n}", f"payload-{n}".encode())
    store.outbox_remove("event-1")
    store.outbox_remove("event-3")
    store.close()
    reopened = Store(path)
    assert reopened.outbox() == [(f"event-{n}", f"payload-{n}".encode()) for n in (0, 2, 4)]
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_media_index(tmp_path: Path) -> None:
    store = Store(tmp_path / "agent.sqlite3")
    assert not store.has_media("b" * 64)
    store.add_media("b" * 64, 123)
    assert store.has_media("b" * 64)
    store.forget_media("b" * 64)
    assert not store.has_media("b" * 64)
