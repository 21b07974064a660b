"""The agent's SQLite store: plan replacement, playback records and the event log."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agents.store import SqliteStore, read_event_log
from wardcast.protocol import Event, EventType, PlanItem, encode, utcnow

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def item(playback_id: int, minutes: int = 0) -> PlanItem:
    return PlanItem(playback_id=playback_id, bulletin_id=1, scheduled_at=T0 + timedelta(
        minutes=minutes), duration_ms=1000, sha256="a" * 64, media_path="/m/a.opus")


def test_replace_plan_reports_only_new_items_and_drops_absent_ones(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "agent.sqlite3")
    assert [i.playback_id for i in store.replace_plan([item(1, 5), item(2, 1)])] == [1, 2]
    added = store.replace_plan([item(2, 1), item(3, 9)])
    assert [i.playback_id for i in added] == [3]
    assert [i.playback_id for i in store.pending()] == [2, 3]  # by scheduled_at
    assert not store.is_pending(1)


def test_played_items_never_come_back(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "agent.sqlite3")
    store.replace_plan([item(1), item(2, 1)])
    store.mark_started(1)
    store.mark_final(1, "finished")
    store.mark_started(2)  # playing when the agent died
    store.save_position(2, 3000)
    assert store.replace_plan([item(1), item(2, 1), item(3, 2)]) == [item(3, 2)]
    assert [i.playback_id for i in store.pending()] == [3]
    assert store.started_unfinished() == [(2, 3000)]
    assert store.final_state(1) == "finished"


def test_downloaded_is_recorded_once(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "agent.sqlite3")
    assert store.mark_downloaded(7)
    assert not store.mark_downloaded(7)


def event(n: int, at: datetime = T0) -> tuple[Event, bytes]:
    ev = Event(event_id=f"event-{n:04d}", playback_id=n + 1, type=EventType.STARTED, at=at,
               boot_id="boot")
    return ev, encode(ev)


def test_events_stay_unconfirmed_until_acked_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    store = SqliteStore(path)
    for n in range(5):
        store.add_event(*event(n))
    store.mark_published("event-0001")
    assert store.confirm(["event-0001", "event-0003", "never-sent"]) == 2
    assert store.confirm(["event-0001"]) == 0
    store.close()
    reopened = SqliteStore(path)
    assert [e for e, _ in reopened.unconfirmed()] == [f"event-{n:04d}" for n in (0, 2, 4)]
    assert reopened.unconfirmed()[0][1] == event(0)[1]  # the exact bytes are sent again
    assert reopened.unconfirmed_count() == 3
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_only_events_published_long_ago_are_due_again(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "agent.sqlite3")
    for n in range(3):
        store.add_event(*event(n))
    store.mark_published("event-0000")
    store.mark_published("event-0001")
    store.confirm(["event-0001"])
    later = utcnow() + timedelta(seconds=1)
    assert [e for e, _ in store.published_before(later)] == ["event-0000"]
    assert store.published_before(utcnow() - timedelta(seconds=10)) == []


def test_pruning_keeps_unconfirmed_and_recent_events(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite3"
    store = SqliteStore(path)
    old = utcnow() - timedelta(days=31)
    for n, at in enumerate([old, old, utcnow()]):
        store.add_event(*event(n, at))
    store.confirm(["event-0000", "event-0002"])
    assert store.prune_events(older_than=timedelta(days=30)) == 1
    assert [row[1] for row in read_event_log(path)] == ["event-0001", "event-0002"]


def test_a_state_change_and_its_event_commit_together(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "agent.sqlite3")
    store.replace_plan([item(1)])
    with pytest.raises(RuntimeError), store.transaction():
        store.mark_final(1, "finished")  # its own transaction joins the outer one
        store.add_event(*event(1))
        raise RuntimeError("crash before the commit")
    assert store.final_state(1) is None and store.is_pending(1)
    assert store.unconfirmed() == []


def test_the_state_dir_and_database_are_private(tmp_path: Path) -> None:
    """The agent's database (its plan and proof of play) was 0644 in a 0755 folder."""
    before = os.umask(0o022)
    try:
        state = tmp_path / "state"
        store = SqliteStore(state / "agent.sqlite3")
        store.set_setting("volume", "80")  # a write: the -wal and -shm exist now
        assert state.stat().st_mode & 0o777 == 0o700
        for name in ("agent.sqlite3", "agent.sqlite3-wal", "agent.sqlite3-shm"):
            assert (state / name).stat().st_mode & 0o777 == 0o600, name
        store.close()
        for path in (state, state / "agent.sqlite3"):  # as an older agent left them
            path.chmod(0o755 if path.is_dir() else 0o644)
        SqliteStore(state / "agent.sqlite3").close()
        assert state.stat().st_mode & 0o777 == 0o700
        assert (state / "agent.sqlite3").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(before)
