"""Benchmark 8: the yearly activity report over a city's year of playbacks, on PostgreSQL.

    python -m bench.reports [--stations 10000] [--days 365] [--format json] [--repeat 3]
                            [--plans] [--quick]

A fresh database holds N stations × 2 playbacks a day for a year (7.3 million at 10,000
stations), each with its `started` and final events, and the stations' online spells, all
written in SQL (bench/reports_data.py). Timed: the report of year 2026 (15/12/2025 –
14/12/2026) written as the route writes it (`service.activity`, then the format's writer),
each run in its own transaction; beside it the floor, the same aggregates as one
hand-written SQL statement (bench/reports_floor.py), whose city figures must agree with the
report's. Peak memory is this process's resident high-water mark during the report runs.
Targets: JSON in ≤ 5 s, within 1.5× of the floor, memory bounded. Before the timed runs the
tallies of the year's months are kept (`wardcast report keep`, as the daily job does; timed
apart, not a target); `--live` skips that, for the report counted from the ledger alone.
`--plans` prints the query plans of the report's statements (EXPLAIN ANALYZE).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from bench import reports_floor
from bench.data import WORK_DIR, Stopwatch, fresh_database, print_table
from bench.reports_data import Shape, seed
from scheduler.config import Settings
from scheduler.db import Database
from scheduler.reports import formats, periods, service
from scheduler.reports.cutoffs import Cutoffs
from scheduler.reports.kept import fill, read
from scheduler.reports.schemas import ActivityReport

ZONE = "Asia/Ho_Chi_Minh"
YEAR = "2026"
STALE = 10  # stations whose old months change after the fill, in the last timed run


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365, help="of 2026's report year")
    parser.add_argument("--format", default="json", choices=("json", "csv", "xlsx", "pdf"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plans", action="store_true", help="print the report's query plans")
    parser.add_argument("--live", action="store_true", help="keep no tallies: count live")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.stations, args.repeat = 200, 2
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    writer = formats.FORMATS[args.format]
    settings = Settings()
    cutoffs = Cutoffs()
    period = periods.named(YEAR, timezone=ZONE, cutoffs=cutoffs)
    days = min(args.days, period.days)
    now = period.end + timedelta(days=1)  # the report is read once the year is over
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK_DIR, prefix="reports-") as tmp, \
            fresh_database("postgres", Path(tmp)) as db:
        with Stopwatch() as seeding:
            playbacks = seed(db.engine, Shape(args.stations, period.first, days))
        keeping = None
        if not args.live:
            with Stopwatch() as keeping:
                kept = fill.fill(db=db, settings=settings, now=now)
            assert kept.stations == args.stations, kept
        base_rss = _rss_kb("VmRSS")
        _reset_peak()
        runs, size, report = [], 0, None
        for _ in range(args.repeat):
            with Stopwatch() as watch, db.session() as session:
                report = service.activity(session=session, period=period, wards=None,
                                          now=now, cutoffs=cutoffs)
                out = io.BytesIO()
                writer.write(report, formats.names(session), out, settings)
            runs.append(watch.seconds)
            size = len(out.getvalue())
        peak = _rss_kb("VmHWM")
        floors = []
        for _ in range(args.repeat):
            with Stopwatch() as watch, db.engine.begin() as conn:
                totals = reports_floor.run(conn, start=period.start, end=period.end, now=now)
            floors.append(watch.seconds)
        assert report is not None
        _agree(report, totals)
        checks = [] if args.live else _against_live(db, period, now, cutoffs, report)
        if args.plans:
            _plans(db, period, now, cutoffs)
    best, floor = min(runs), min(floors)
    print_table(f"Activity report: {args.stations:,} stations × 2 a day × {days} days "
                f"({playbacks:,} playbacks), year {YEAR}, {args.format}",
                ["step", "seconds (best)", "seconds (median)", "runs", "note"],
                [["seed (SQL)", seeding.seconds, seeding.seconds, 1, "not timed by targets"],
                 *([["keep the tallies", keeping.seconds, keeping.seconds, 1, "not a target"]]
                   if keeping else []),
                 [f"report ({args.format})", best, statistics.median(runs), len(runs),
                  f"{size / 1e6:.1f} MB out"],
                 ["floor (one SQL)", floor, statistics.median(floors), len(floors),
                  "same city figures"],
                 ["ratio report/floor", f"{best / floor:.2f}x", "", "", "target ≤ 1.5x"],
                 *checks])
    print(f"\npeak RSS during the reports: {peak / 1024:.0f} MB "
          f"(before them: {base_rss / 1024:.0f} MB)")
    return 0


def _agree(report: ActivityReport, totals: reports_floor.Totals) -> None:
    """The floor computed the same figures (a floor that computed less would prove nothing)."""
    mine = report.totals
    assert (mine.played, mine.bulletins) == (totals.played, totals.bulletins), (mine, totals)
    assert abs(mine.on_air_seconds - totals.on_air_seconds) < 1, (mine, totals)
    assert abs(mine.online_seconds - totals.online_seconds) < 1, (mine, totals)


def _against_live(db: Database, period: periods.Period, now: datetime, cutoffs: Cutoffs,
                  kept: ActivityReport) -> list[list[Any]]:
    """Time the report counted live (kept tallies ignored) and with STALE stations stale;
    both must give the kept report's figures."""
    rows = _trailing_edge(db, period, now, cutoffs)
    for name, live in (("report, all live (no kept rows)", True),
                       (f"report, {STALE} stations stale", False)):
        if not live:
            with db.engine.begin() as conn:  # as a late edit of an old month would
                conn.execute(text(
                    "INSERT INTO report_tally_stations (station_id, generation) "
                    "SELECT id, 1000 FROM stations ORDER BY id LIMIT :n ON CONFLICT (station_id) "
                    "DO UPDATE SET generation = report_tally_stations.generation + 1"),
                    {"n": STALE})
        read.ENABLED = not live
        try:
            with Stopwatch() as watch, db.session() as session:
                report = service.activity(session=session, period=period, wards=None, now=now,
                                          cutoffs=cutoffs)
        finally:
            read.ENABLED = True
        same = report.model_dump(exclude={"generated_at"}) == kept.model_dump(
            exclude={"generated_at"})
        assert same or _close(report, kept), name
        rows.append([name, watch.seconds, watch.seconds, 1,
                     "same figures" if same else "same but seconds' last digits"])
    return rows


def _trailing_edge(db: Database, period: periods.Period, now: datetime, cutoffs: Cutoffs
                   ) -> list[list[Any]]:
    """Time a period that ends 15 days into the year's last tally month (as a report read
    early in December is), so that those days are counted live beside the kept months; kept
    and live must agree."""
    last = period.last - timedelta(days=15)
    shorter = periods.between(period.first, last, timezone=period.timezone)
    found = {}
    for live in (False, True):
        read.ENABLED = not live
        try:
            with Stopwatch() as watch, db.session() as session:
                report = service.activity(session=session, period=shorter, wards=None,
                                          now=now, cutoffs=cutoffs)
        finally:
            read.ENABLED = True
        found[live] = (report, watch.seconds)
    (kept, kept_s), (live_report, live_s) = found[False], found[True]
    same = kept.model_dump(exclude={"generated_at"}) == live_report.model_dump(
        exclude={"generated_at"})
    assert same or _close(kept, live_report), "trailing edge"
    to = last.strftime("%d/%m")
    return [[f"report to {to}: kept months + 15 days live", kept_s, kept_s, 1,
             "same figures as live" if same else "same but seconds' last digits"],
            [f"report to {to}, all live", live_s, live_s, 1, ""]]


def _close(a: ActivityReport, b: ActivityReport) -> bool:
    """The same counts, and seconds within a millisecond (floats summed in another order)."""
    x, y = a.totals, b.totals
    return ((x.played, x.missed, x.failed, x.planned, x.bulletins, x.not_played_by_reason,
             x.longest_outage)
            == (y.played, y.missed, y.failed, y.planned, y.bulletins, y.not_played_by_reason,
                y.longest_outage)
            and abs(x.on_air_seconds - y.on_air_seconds) < 1e-3
            and abs(x.online_seconds - y.online_seconds) < 1e-3)


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    """Start the resident high-water mark again from now (Linux: clear_refs 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def _plans(db: Database, period: periods.Period, now: datetime, cutoffs: Cutoffs) -> None:
    """Print EXPLAIN ANALYZE of each statement the report runs."""
    statements: list[tuple[str, Any]] = []
    with _recording(db, statements), db.session() as session:
        service.activity(session=session, period=period, wards=None, now=now, cutoffs=cutoffs,
                         compare=False)
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL work_mem = '64MB'"))
        conn.execute(text("SET LOCAL jit = off"))
        for sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT") and "WITH" not in sql[:10]:
                continue
            print("\n" + sql)
            raw = conn.connection.cursor()
            raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print("\n".join(row[0] for row in raw.fetchall()))


@contextmanager
def _recording(db: Database, into: list[tuple[str, Any]]) -> Any:
    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        into.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


if __name__ == "__main__":
    sys.exit(main())

