"""Benchmark: the playback log's files (CSV and XLSX) over a long log, time and memory.

    python -m bench.log_export [--rows 1000000] [--stations 200] [--db sqlite,postgres]

For each database: S stations in 10 wards and two zones, three bulletins (Vietnamese titles,
two languages, a category) and R playbacks, a third of them played with start and end, a
third failed with a reason. Each file is then written by the code the API runs
(scheduler/web/logfiles.py: csv_chunks, xlsx_file) into a file, in a child process of its own,
twice: the whole log, and one station's rows (R/S); the child reports its time, the rows the
file holds, its size and its peak RSS. Flat memory: the two peaks are about the same. No
numeric target.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from bench.data import (
    KINDS,
    ROOT,
    WORK_DIR,
    fresh_database,
    print_table,
    seed_bulletin,
    seed_stations,
    utc_now,
)
from scheduler.db import Database
from scheduler.playbacks.models import Playback
from scheduler.playbacks.service import PlaybackFilter
from scheduler.web import logfiles

BATCH = 10_000
ZONE = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class Export:
    database: str
    file: str
    scope: str
    rows: int
    seconds: float
    megabytes: float
    peak_rss_mb: float


def seed(db: Database, *, rows: int, stations: int) -> int:
    """Fill the log; return the first station's id."""
    now = utc_now()
    ids = seed_stations(db.engine, count=stations, wards=10, now=now)
    bulletins = [seed_bulletin(db.engine, now=now) for _ in range(3)]
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE stations SET timezone = 'Asia/Tokyo' WHERE id % 2 = 0"))
        for bulletin_id, (title, language, category) in zip(bulletins, (
                ("Thông báo lịch tiêm chủng", "vi", "y-te"),
                ("Phòng chống bão lũ", "rad", "phong-chong-thien-tai"),
                ("Bản tin thời sự", "vi", None)), strict=True):
            conn.execute(text("UPDATE bulletins SET title = :t, language = :l, category = :c "
                              "WHERE id = :i"),
                         {"t": title, "l": language, "c": category, "i": bulletin_id})
        start = now - timedelta(days=365)
        for first in range(0, rows, BATCH):
            conn.execute(insert(Playback), [
                _playback(n, ids[n % len(ids)], bulletins[n % 3], start + timedelta(minutes=n))
                for n in range(first, min(first + BATCH, rows))])
    return ids[0]


def _playback(n: int, station_id: int, bulletin_id: int, at: Any) -> dict[str, Any]:
    outcome = n % 3
    return {"station_id": station_id, "bulletin_id": bulletin_id, "scheduled_at": at,
            "priority": "normal", "created_at": at, "updated_at": at,
            "status": ("played", "failed", "planned")[outcome],
            "started_at": at + timedelta(seconds=1) if outcome == 0 else None,
            "finished_at": at + timedelta(seconds=61) if outcome < 2 else None,
            "position_ms": 60_000 if outcome == 0 else None,
            "reason": ("played to the end", "decoder crashed: ffmpeg exit 1", None)[outcome]}


def child(url: str, kind: str, station_id: int | None, out: Path) -> dict[str, float]:
    """Write one file of the log as the API does; return its figures (run in a child)."""
    db = Database(url)
    filters = PlaybackFilter(station_id=station_id)
    began = time.perf_counter()
    with out.open("wb") as sink:
        if kind == "csv":
            chunks = logfiles.csv_chunks(db=db, filters=filters, lang="vi", zone=ZONE)
        else:
            with db.session() as session:
                chunks = logfiles.file_chunks(logfiles.xlsx_file(
                    session=session, filters=filters, lang="vi", zone=ZONE,
                    scratch=out.parent))
        for chunk in chunks:
            sink.write(chunk)
    seconds = time.perf_counter() - began
    db.dispose()
    return {"seconds": seconds, "bytes": out.stat().st_size, "rows": _rows(kind, out),
            "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def _rows(kind: str, path: Path) -> int:
    """Count the data rows a file holds (the bench's texts hold no line break)."""
    if kind == "csv":
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1
    rows = 0
    with zipfile.ZipFile(path) as book:
        for name in book.namelist():
            if name.startswith("xl/worksheets/sheet"):
                with book.open(name) as sheet:  # <dimension ref="A1:AE1001"/> comes first
                    found = re.search(rb'<dimension ref="[A-Z]+1:[A-Z]+(\d+)"', sheet.read(2048))
                rows += int(found.group(1)) - 1 if found else 0
    return rows


def measure(url: str, database: str, kind: str, scope: str, station_id: int | None,
            workdir: Path) -> Export:
    out = workdir / f"log.{kind}"
    done = subprocess.run(
        [sys.executable, "-m", "bench.log_export", "--child", kind, "--url", url,
         "--out", str(out), *(["--station", str(station_id)] if station_id else [])],
        cwd=ROOT, capture_output=True, text=True, check=True)
    out.unlink()
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return Export(database, kind, scope, found["rows"], found["seconds"],
                  found["bytes"] / 1e6, found["peak_rss_kb"] / 1024)


def run(database: str, args: argparse.Namespace, workdir: Path) -> list[Export]:
    with fresh_database(database, workdir) as db:
        first = seed(db, rows=args.rows, stations=args.stations)
        url = db.engine.url.render_as_string(hide_password=False)
        return [measure(url, database, kind, scope, station, workdir)
                for kind in ("csv", "xlsx")
                for scope, station in (("one station", first), ("whole log", None))]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.log_export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--db", default=",".join(KINDS), help="sqlite, postgres or both")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    parser.add_argument("--child", choices=("csv", "xlsx"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--station", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.stations = 2_000, 10
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args.url, args.child, args.station, args.out)))
        return 0
    exports: list[Export] = []
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK_DIR, prefix="log-export-") as tmp:
        for database in (k.strip() for k in args.db.split(",") if k.strip()):
            exports += run(database, args, Path(tmp))
    print_table(f"Playback log files: {args.rows:,} playbacks on {args.stations} stations "
                "(no numeric target)",
                ["database", "file", "scope", "rows", "seconds", "rows/s", "MB", "peak RSS MB"],
                [[e.database, e.file, e.scope, e.rows, e.seconds,
                  round(e.rows / e.seconds) if e.seconds else 0, e.megabytes, e.peak_rss_mb]
                 for e in exports])
    return 0


if __name__ == "__main__":
    sys.exit(main())
