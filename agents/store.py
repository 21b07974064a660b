"""The agent's durable state in SQLite: plan, playback records, media index and event outbox.

Every method commits before it returns, so whatever the agent did survives a crash. The store
is used from the event loop's thread only.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from wardcast.protocol import PlanItem, to_wire, utcnow

SCHEMA = """
CREATE TABLE IF NOT EXISTS plan_items (
    playback_id INTEGER PRIMARY KEY,
    scheduled_at TEXT NOT NULL,
    item TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS playbacks (
    playback_id INTEGER PRIMARY KEY,
    downloaded INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    final TEXT
);
CREATE TABLE IF NOT EXISTS media (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    payload BLOB NOT NULL
);
"""


class Store:
    """One SQLite database in WAL mode."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    # --- the plan -------------------------------------------------------------------------

    def replace_plan(self, items: list[PlanItem]) -> list[PlanItem]:
        """Make items the whole pending plan; return those that were not in it before."""
        finished = self._played_ids()
        wanted = [item for item in items if item.playback_id not in finished]
        before = {row[0] for row in self._db.execute("SELECT playback_id FROM plan_items")}
        with self._transaction():
            self._db.execute("DELETE FROM plan_items")
            self._db.executemany(
                "INSERT OR REPLACE INTO plan_items VALUES (?, ?, ?)",
                [(i.playback_id, to_wire(i.scheduled_at), i.model_dump_json()) for i in wanted],
            )
        return [item for item in wanted if item.playback_id not in before]

    def pending(self) -> list[PlanItem]:
        """Return the plan items not yet played, earliest first."""
        rows = self._db.execute(
            "SELECT item FROM plan_items ORDER BY scheduled_at, playback_id"
        ).fetchall()
        return [PlanItem.model_validate_json(row[0]) for row in rows]

    def is_pending(self, playback_id: int) -> bool:
        """Tell whether a playback is still in the plan and not played."""
        row = self._db.execute(
            "SELECT 1 FROM plan_items WHERE playback_id = ?", (playback_id,)
        ).fetchone()
        return row is not None

    # --- local playback records -------------------------------------------------------------

    def mark_downloaded(self, playback_id: int) -> bool:
        """Record that a playback's media is cached; return False if it already was."""
        self._ensure_record(playback_id)
        cursor = self._db.execute(
            "UPDATE playbacks SET downloaded = 1 WHERE playback_id = ? AND downloaded = 0",
            (playback_id,),
        )
        return cursor.rowcount == 1

    def mark_started(self, playback_id: int) -> None:
        """Record that a playback started (so it is never started again)."""
        self._ensure_record(playback_id)
        self._db.execute(
            "UPDATE playbacks SET started_at = ? WHERE playback_id = ?",
            (to_wire(utcnow()), playback_id),
        )

    def mark_final(self, playback_id: int, state: str) -> None:
        """Record a playback's final state and drop it from the plan."""
        self._ensure_record(playback_id)
        with self._transaction():
            self._db.execute(
                "UPDATE playbacks SET final = ? WHERE playback_id = ?", (state, playback_id)
            )
            self._db.execute("DELETE FROM plan_items WHERE playback_id = ?", (playback_id,))

    def final_state(self, playback_id: int) -> str | None:
        """Return a playback's final state, if it has one."""
        row = self._db.execute(
            "SELECT final FROM playbacks WHERE playback_id = ?", (playback_id,)
        ).fetchone()
        return None if row is None else row[0]

    def started_unfinished(self) -> list[int]:
        """Return playbacks that started but never ended (the agent died while playing)."""
        rows = self._db.execute(
            "SELECT playback_id FROM playbacks WHERE started_at IS NOT NULL AND final IS NULL"
        )
        return [row[0] for row in rows]

    # --- media cache index -------------------------------------------------------------------

    def add_media(self, sha256: str, size: int) -> None:
        """Record a verified media file in the cache."""
        self._db.execute(
            "INSERT OR REPLACE INTO media VALUES (?, ?, ?)", (sha256, size, to_wire(utcnow()))
        )

    def has_media(self, sha256: str) -> bool:
        """Tell whether a verified media file is recorded in the cache."""
        row = self._db.execute("SELECT 1 FROM media WHERE sha256 = ?", (sha256,)).fetchone()
        return row is not None

    def forget_media(self, sha256: str) -> None:
        """Drop a media file from the cache index."""
        self._db.execute("DELETE FROM media WHERE sha256 = ?", (sha256,))

    # --- event outbox --------------------------------------------------------------------

    def outbox_add(self, event_id: str, payload: bytes) -> None:
        """Keep an event until the broker acknowledges it."""
        self._db.execute(
            "INSERT INTO outbox (event_id, payload) VALUES (?, ?)", (event_id, payload)
        )

    def outbox_remove(self, event_id: str) -> None:
        """Forget an event the broker acknowledged."""
        self._db.execute("DELETE FROM outbox WHERE event_id = ?", (event_id,))

    def outbox(self) -> list[tuple[str, bytes]]:
        """Return the unacknowledged events, oldest first."""
        rows = self._db.execute("SELECT event_id, payload FROM outbox ORDER BY seq")
        return [(row[0], bytes(row[1])) for row in rows]

    # --- helpers -------------------------------------------------------------------------

    def _played_ids(self) -> set[int]:
        rows = self._db.execute(
            "SELECT playback_id FROM playbacks WHERE final IS NOT NULL OR started_at IS NOT NULL"
        )
        return {row[0] for row in rows}

    def _ensure_record(self, playback_id: int) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO playbacks (playback_id) VALUES (?)", (playback_id,)
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK when the block raises."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
