"""Benchmark: the clash check of a new timetable over the look-ahead, among many timetables.

    python -m bench.clashes [--timetables 200] [--stations 50] [--days 366] [--db sqlite,postgres]

For each database: N stations, one approved one-minute bulletin, and T daily timetables on
all of them (06:00, 06:02, 06:04 … local, so none overlaps another), planned over the 48 h
horizon. Timed, each in its own transaction: creating one more daily timetable at a free
minute through the path the API takes (store, plan the horizon, check the horizon's playbacks
and, past it, every timetable's expansion over the look-ahead), which is accepted, and one at
06:00, which is refused (409), so rolled back. No numeric target.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from bench.data import (
    KINDS,
    WORK_DIR,
    Stopwatch,
    fresh_database,
    print_table,
    seed_bulletin,
    seed_stations,
    utc_now,
)
from scheduler.db import Database
from scheduler.errors import Conflict
from scheduler.planning import planner, scheduling
from scheduler.timetables import service as timetables
from scheduler.timetables.schemas import TimetableCreate
from scheduler.users import service as users
from scheduler.users.models import User

ZONE = "Asia/Ho_Chi_Minh"
HORIZON = timedelta(hours=48)


@dataclass(frozen=True)
class Step:
    database: str
    step: str
    seconds: float
    outcome: str


def seed(db: Database, *, stations: int, timetables_count: int) -> tuple[int, int, list[int]]:
    """Create the stations, bulletin and timetables; return (admin, bulletin, station ids)."""
    now = utc_now()
    ids = seed_stations(db.engine, count=stations, wards=1, now=now)
    bulletin_id = seed_bulletin(db.engine, now=now)
    first = datetime.combine(now.date() + timedelta(days=1), time(6))
    with db.session() as session:
        admin = users.create_user(session=session, username="bench-admin",
                                  password="bench-password", role="admin")
        for n in range(timetables_count):
            timetables.create(session=session, by=admin, default_zone=ZONE, data=TimetableCreate(
                bulletin_id=bulletin_id, station_ids=ids, recurrence="FREQ=DAILY",
                starts_at=first + timedelta(minutes=2 * n)))
        planner.plan(session=session, now=now, horizon=HORIZON)
        session.commit()
        return admin.id, bulletin_id, ids


def create(db: Database, *, admin_id: int, data: TimetableCreate, days: int) -> Step:
    """Create one timetable the way the API does; time it; keep it only if accepted."""
    outcome = "accepted"
    with Stopwatch() as watch, db.session() as session:
        admin = session.get(User, admin_id)
        assert admin is not None
        try:
            scheduling.create(session=session, data=data, by=admin, default_zone=ZONE,
                              horizon=HORIZON, lookahead=timedelta(days=days))
            session.commit()
        except Conflict:
            session.rollback()
            outcome = "refused (409)"
    return Step("", "", watch.seconds, outcome)


def run(kind: str, args: argparse.Namespace, workdir: Path) -> list[Step]:
    with fresh_database(kind, workdir) as db:
        admin_id, bulletin_id, ids = seed(db, stations=args.stations,
                                          timetables_count=args.timetables)
        day = utc_now().date() + timedelta(days=1)
        steps = []
        for name, at in (("create, no clash", time(5, 30)), ("create, clash", time(6))):
            data = TimetableCreate(bulletin_id=bulletin_id, station_ids=ids,
                                   recurrence="FREQ=DAILY", starts_at=datetime.combine(day, at))
            step = create(db, admin_id=admin_id, data=data, days=args.days)
            steps.append(Step(kind, name, step.seconds, step.outcome))
        return steps


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.clashes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timetables", type=int, default=200)
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--days", type=int, default=366, help="the look-ahead")
    parser.add_argument("--db", default=",".join(KINDS), help="sqlite, postgres or both")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.timetables, args.stations = 10, 5
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    steps: list[Step] = []
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK_DIR, prefix="clashes-") as tmp:
        for kind in (k.strip() for k in args.db.split(",") if k.strip()):
            steps += run(kind, args, Path(tmp))
    print_table(f"Clash check: {args.timetables} daily timetables on {args.stations} stations, "
                f"{args.days}-day look-ahead (no numeric target)",
                ["database", "step", "seconds", "outcome"],
                [[s.database, s.step, s.seconds, s.outcome] for s in steps])
    return 0


if __name__ == "__main__":
    sys.exit(main())
