"""Read the agent's local event log (its proof of play), also while the agent is running.

The log is read through a separate read-only connection: WAL lets it see every committed
event without blocking, or being blocked by, the agent writing.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from agents.schema import EVENT_LOG_COLUMNS
from wardcast.csvcells import safe_row

Row = tuple[object, ...]


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
