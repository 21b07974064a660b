"""Shared helpers of the data-path benchmarks: fresh databases, seed rows, a figures table."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text

from bench.harness import postgres_admin_url
from scheduler.bulletins.models import Bulletin
from scheduler.db import Database
from scheduler.migrations import upgrade
from scheduler.stations.models import Station
from tests.support.postgres import fresh_database as empty_postgres

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("sqlite", "postgres")
WORK_DIR = ROOT / "test-artifacts" / "bench"


@contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[Database]:
    """Yield a migrated, empty database of this kind; drop it afterwards."""
    if kind == "sqlite":
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.sqlite3"
        db = Database(f"sqlite:///{path}")
        try:
            upgrade(db.engine)
            yield db
        finally:
            db.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    with empty_postgres(postgres_admin_url(), prefix="wardcast_bench") as url:
        db = Database(url)
        try:
            upgrade(db.engine)
            yield db
        finally:
            db.dispose()


def seed_stations(engine: Engine, *, count: int, wards: int, now: datetime) -> list[int]:
    """Insert count stations spread over wards; return their ids in order."""
    rows = [{"name": f"bench-{i:05d}", "ward": f"P{i % wards:03d}",
             "timezone": "Asia/Ho_Chi_Minh", "created_at": now, "online": True,
             "online_since": now, "plan_revision": 0} for i in range(1, count + 1)]
    with engine.begin() as conn:
        conn.execute(insert(Station), rows)
        ids = conn.execute(text("SELECT id FROM stations ORDER BY id")).scalars().all()
    return [int(i) for i in ids]


def seed_bulletin(engine: Engine, *, now: datetime) -> int:
    """Insert one approved bulletin; return its id."""
    row: dict[str, Any] = {
        "title": "Bản tin thử tải", "language": "vi", "status": "approved",
        "duration_ms": 60_000, "sha256": "a" * 64, "size_bytes": 240_000,
        "loudness_lufs": -16.0, "true_peak_dbtp": -3.0, "source_loudness_lufs": -24.0,
        "source_duration_ms": 60_000, "source_format": "wav", "normalization_type": "linear",
        "original_sha256": "b" * 64, "original_filename": "bench.wav", "created_at": now}
    with engine.begin() as conn:
        conn.execute(insert(Bulletin), [row])
        found = conn.execute(text("SELECT max(id) FROM bulletins")).scalar_one()
    return int(found)


def utc_now() -> datetime:
    """Return the current instant, to the second (what the benches plan from)."""
    return datetime.now(UTC).replace(microsecond=0)


class Stopwatch:
    """Measure one stretch of wall time."""

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a small fixed-width table of figures."""
    cells = [[str(h) for h in header], *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print("  ".join(cell.rjust(width) if index and pos else cell.ljust(width)
                        for pos, (cell, width) in enumerate(zip(row, widths, strict=True))))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
