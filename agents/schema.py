"""The agent's SQLite schema, and the step that brings a state directory's older one up to it."""

from __future__ import annotations

import sqlite3

from wardcast.protocol import Event, ProtocolError, decode

SCHEMA_VERSION = 1

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
    final TEXT,
    position_ms INTEGER
);
CREATE TABLE IF NOT EXISTS media (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    stored_at TEXT NOT NULL,
    used_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    playback_id INTEGER NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    clock_offset_ms INTEGER,
    boot_id TEXT NOT NULL,
    position_ms INTEGER,
    reason TEXT,
    payload BLOB NOT NULL,
    published_at TEXT,
    confirmed_at TEXT
);
CREATE TABLE IF NOT EXISTS commands (
    command_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    received_at TEXT NOT NULL,
    result BLOB
);
CREATE TABLE IF NOT EXISTS agent_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_unconfirmed ON events (seq) WHERE confirmed_at IS NULL;
"""

# What `wardcast agent-log` shows: the local proof of play, in creation order.
EVENT_LOG_COLUMNS = ("seq", "event_id", "playback_id", "type", "at", "clock_offset_ms",
                     "boot_id", "position_ms", "reason", "published_at", "confirmed_at")

INSERT_EVENT = """
INSERT OR IGNORE INTO events (event_id, playback_id, type, at, clock_offset_ms, boot_id,
                              position_ms, reason, payload)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def event_row(event: Event, payload: bytes) -> tuple[object, ...]:
    """Return the INSERT_EVENT parameters of one event."""
    wire = event.model_dump(mode="json")
    return (event.event_id, event.playback_id, event.type.value, wire["at"],
            event.clock_offset_ms, event.boot_id, event.position_ms, event.reason, payload)


def create(db: sqlite3.Connection) -> None:
    """Create what is missing and upgrade a version-0 database (one outbox, fewer columns)."""
    db.executescript(SCHEMA)
    if db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        _add_column(db, "playbacks", "position_ms", "INTEGER")
        if _add_column(db, "media", "used_at", "TEXT NOT NULL DEFAULT ''"):
            db.execute("UPDATE media SET used_at = stored_at")
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").fetchone():
            _move_outbox(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _add_column(db: sqlite3.Connection, table: str, column: str, declaration: str) -> bool:
    """Add a column unless the table has it; return True when it was added."""
    if any(row[1] == column for row in db.execute(f"PRAGMA table_info({table})")):
        return False
    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    return True


def _move_outbox(db: sqlite3.Connection) -> None:
    """Turn version 0's unacknowledged events into unconfirmed events of the log."""
    for (payload,) in db.execute("SELECT payload FROM outbox ORDER BY seq").fetchall():
        try:
            event = decode(Event, bytes(payload))
        except ProtocolError:
            continue  # version 0 wrote only valid events; nothing to resend otherwise
        db.execute(INSERT_EVENT, event_row(event, bytes(payload)))
    db.execute("DROP TABLE outbox")
