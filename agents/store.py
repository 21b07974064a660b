"""The agent's durable state in SQLite: plan, playback records, event log, commands seen
(with their results) and the station's own settings (its volume).

Every method commits before it returns. The database runs in WAL mode with
``synchronous=FULL``, so a commit is on disk before the method returns: what the agent did
survives a SIGKILL and a power cut alike (a cut must not make it replay a started item).
The store is used from the event loop's thread only. ``Store`` is what the station needs of
its state; the simulator keeps it in memory (simulate/store.py).

``wardcast agent-log`` reads the event log (the proof of play) through a separate read-only
connection: WAL lets it see every committed event without blocking, or being blocked by,
the agent writing.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sqlite3
import sys
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, TextIO
from urllib.parse import quote

from agents.config import database_path
from wardcast.csvcells import safe_row
from wardcast.private import private_dir, private_sqlite
from wardcast.protocol import Event, PlanItem, to_wire, utcnow

log = logging.getLogger(__name__)
Row = tuple[object, ...]


class Store(Protocol):
    """The station's state: its plan, what it played, its outbox, commands and settings."""

    def transaction(self) -> AbstractContextManager[None]: ...
    def close(self) -> None: ...
    def replace_plan(self, items: list[PlanItem]) -> list[PlanItem]: ...
    def pending(self) -> list[PlanItem]: ...
    def is_pending(self, playback_id: int) -> bool: ...
    def mark_downloaded(self, playback_id: int) -> bool: ...
    def is_downloaded(self, playback_id: int) -> bool: ...
    def mark_started(self, playback_id: int) -> None: ...
    def save_position(self, playback_id: int, position_ms: int) -> None: ...
    def mark_final(self, playback_id: int, state: str) -> None: ...
    def started_unfinished(self) -> list[tuple[int, int | None]]: ...
    def add_event(self, event: Event, payload: bytes) -> None: ...
    def unconfirmed(self) -> list[tuple[str, bytes]]: ...
    def published_before(self, instant: datetime) -> list[tuple[str, bytes]]: ...
    def unconfirmed_count(self) -> int: ...
    def mark_published(self, event_id: str) -> None: ...
    def confirm(self, event_ids: Iterable[str]) -> int: ...
    def prune_events(self, older_than: timedelta) -> int: ...
    def begin_command(self, command_id: str, type_: str) -> bool: ...
    def command_result(self, command_id: str) -> bytes | None: ...
    def finish_command(self, command_id: str, result: bytes) -> None: ...
    def unanswered_commands(self) -> list[str]: ...
    def setting(self, key: str) -> str | None: ...
    def set_setting(self, key: str, value: str) -> None: ...

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
    return (event.event_id, event.key, event.type.value, wire["at"],
            event.clock_offset_ms, event.boot_id, event.position_ms, event.reason, payload)


class SqliteStore:
    """The Store in one SQLite database in WAL mode."""

    def __init__(self, path: Path) -> None:
        private_dir(path.parent)  # the state dir: plan, proof of play, media cache
        private_sqlite(path)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    # --- the plan -------------------------------------------------------------------------

    def replace_plan(self, items: list[PlanItem]) -> list[PlanItem]:
        """Make items the whole pending plan; return those that were not in it before."""
        finished = self._played_ids()
        wanted = [item for item in items if item.playback_id not in finished]
        before = {row[0] for row in self._db.execute("SELECT playback_id FROM plan_items")}
        with self.transaction():
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
        with self.transaction():
            self._ensure_record(playback_id)
            cursor = self._db.execute(
                "UPDATE playbacks SET downloaded = 1 WHERE playback_id = ? AND downloaded = 0",
                (playback_id,),
            )
        return cursor.rowcount == 1

    def is_downloaded(self, playback_id: int) -> bool:
        """Tell whether a playback's media was recorded as cached."""
        row = self._db.execute(
            "SELECT downloaded FROM playbacks WHERE playback_id = ?", (playback_id,)
        ).fetchone()
        return bool(row and row[0])

    def mark_started(self, playback_id: int) -> None:
        """Record that a playback started (so it is never started again)."""
        with self.transaction():
            self._ensure_record(playback_id)
            self._db.execute(
                "UPDATE playbacks SET started_at = ?, position_ms = 0 WHERE playback_id = ?",
                (to_wire(utcnow()), playback_id),
            )

    def save_position(self, playback_id: int, position_ms: int) -> None:
        """Record how far a playing item got, for the report after a crash."""
        self._db.execute(
            "UPDATE playbacks SET position_ms = ? WHERE playback_id = ?",
            (position_ms, playback_id),
        )

    def mark_final(self, playback_id: int, state: str) -> None:
        """Record a playback's final state and drop it from the plan."""
        with self.transaction():
            self._ensure_record(playback_id)
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

    def started_unfinished(self) -> list[tuple[int, int | None]]:
        """Return (playback id, last saved position) of playbacks started but never ended."""
        rows = self._db.execute(
            "SELECT playback_id, position_ms FROM playbacks"
            " WHERE started_at IS NOT NULL AND final IS NULL ORDER BY started_at"
        )
        return [(row[0], row[1]) for row in rows]

    # --- the event log, whose unconfirmed rows are the outbox -------------------------------

    def add_event(self, event: Event, payload: bytes) -> None:
        """Log an event; it stays unconfirmed until the scheduler acks it."""
        self._db.execute(INSERT_EVENT, event_row(event, payload))

    def unconfirmed(self) -> list[tuple[str, bytes]]:
        """Return (event id, payload) of every unconfirmed event, oldest first."""
        rows = self._db.execute(
            "SELECT event_id, payload FROM events WHERE confirmed_at IS NULL ORDER BY seq"
        )
        return [(row[0], bytes(row[1])) for row in rows]

    def published_before(self, instant: datetime) -> list[tuple[str, bytes]]:
        """Return unconfirmed events the broker last took before an instant, oldest first."""
        rows = self._db.execute(
            "SELECT event_id, payload FROM events WHERE confirmed_at IS NULL"
            " AND published_at < ? ORDER BY seq", (to_wire(instant),)
        )
        return [(row[0], bytes(row[1])) for row in rows]

    def unconfirmed_count(self) -> int:
        """Return how many events the scheduler has not confirmed yet."""
        return int(self._db.execute(
            "SELECT count(*) FROM events WHERE confirmed_at IS NULL").fetchone()[0])

    def mark_published(self, event_id: str) -> None:
        """Record when the broker last acknowledged (PUBACK) an event."""
        self._db.execute(
            "UPDATE events SET published_at = ? WHERE event_id = ? AND confirmed_at IS NULL",
            (to_wire(utcnow()), event_id),
        )

    def confirm(self, event_ids: Iterable[str]) -> int:
        """Mark events the scheduler committed; unknown ids are ignored. Return how many."""
        ids = list(event_ids)
        if not ids:
            return 0
        cursor = self._db.execute(
            "UPDATE events SET confirmed_at = ? WHERE confirmed_at IS NULL"
            f" AND event_id IN ({', '.join('?' * len(ids))})", (to_wire(utcnow()), *ids),
        )
        return cursor.rowcount

    def prune_events(self, older_than: timedelta) -> int:
        """Delete confirmed events older than a period; return how many."""
        cursor = self._db.execute(
            "DELETE FROM events WHERE confirmed_at IS NOT NULL AND at < ?",
            (to_wire(utcnow() - older_than),),
        )
        return cursor.rowcount

    # --- commands and settings ----------------------------------------------------------

    def begin_command(self, command_id: str, type_: str) -> bool:
        """Record a command as received; return False when it was received before."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO commands (command_id, type, received_at) VALUES (?, ?, ?)",
            (command_id, type_, to_wire(utcnow())),
        )
        return cursor.rowcount == 1

    def command_result(self, command_id: str) -> bytes | None:
        """Return the result a command was answered with, None while it has none."""
        row = self._db.execute(
            "SELECT result FROM commands WHERE command_id = ?", (command_id,)
        ).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def finish_command(self, command_id: str, result: bytes) -> None:
        """Record the result of a command."""
        self._db.execute(
            "UPDATE commands SET result = ? WHERE command_id = ?", (result, command_id)
        )

    def unanswered_commands(self) -> list[str]:
        """Return the ids of commands received but never answered (a run ended meanwhile)."""
        rows = self._db.execute(
            "SELECT command_id FROM commands WHERE result IS NULL ORDER BY received_at"
        )
        return [row[0] for row in rows]

    def setting(self, key: str) -> str | None:
        """Return one of the agent's own settings, if set."""
        row = self._db.execute(
            "SELECT value FROM agent_settings WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        """Store one of the agent's own settings."""
        self._db.execute(
            "INSERT OR REPLACE INTO agent_settings (key, value) VALUES (?, ?)", (key, value)
        )

    def _played_ids(self) -> set[int]:
        rows = self._db.execute(
            "SELECT playback_id FROM playbacks WHERE final IS NOT NULL OR started_at IS NOT NULL"
        )
        return {row[0] for row in rows}

    def _ensure_record(self, playback_id: int) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO playbacks (playback_id) VALUES (?)", (playback_id,)
        )

    def transaction(self) -> _Transaction:
        """Group changes into one commit; inside another transaction, join it."""
        return _Transaction(self._db)


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK when the block raises; nested blocks join the outer one."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._outer = False

    def __enter__(self) -> None:
        self._outer = not self._db.in_transaction
        if self._outer:
            self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._outer:
            self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def log_main(args: argparse.Namespace) -> int:
    """Print every event the agent ever logged, in creation order; return the exit code."""
    try:
        rows = read_event_log(database_path(args.state_dir))
    except EventLogUnavailable as exc:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        log.error("%s", exc)
        return 1
    (write_json if args.format == "json" else write_csv)(rows, sys.stdout)
    return 0


class EventLogUnavailable(FileNotFoundError):
    """The state directory holds no agent database, or one without an event log."""


def read_event_log(database: Path) -> list[Row]:
    """Return every logged event in creation order, as EVENT_LOG_COLUMNS tuples."""
    if not database.is_file():
        raise EventLogUnavailable(f"no agent database at {database}")
    db = sqlite3.connect(f"file:{quote(str(database.resolve()))}?mode=ro", uri=True)
    try:
        return db.execute(
            f"SELECT {', '.join(EVENT_LOG_COLUMNS)} FROM events ORDER BY seq"
        ).fetchall()
    except sqlite3.OperationalError as exc:
        raise EventLogUnavailable(f"cannot read the event log in {database}: {exc}") from exc
    finally:
        db.close()


def write_csv(rows: list[Row], out: TextIO) -> None:
    """Write the log as CSV with a header line; empty fields for missing values.

    Text that a spreadsheet would run as a formula (a reason, say) is quoted (csvcells).
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EVENT_LOG_COLUMNS)
    writer.writerows(safe_row(row) for row in rows)


def write_json(rows: list[Row], out: TextIO) -> None:
    """Write the log as one JSON array of objects."""
    json.dump([dict(zip(EVENT_LOG_COLUMNS, row, strict=True)) for row in rows], out,
              ensure_ascii=False, indent=1)
    out.write("\n")
