"""Benchmark 5: expand timetables for many stations over the horizon, then re-plan one edit.

    python -m bench.planning [--stations 10000] [--hours 48] [--db sqlite,postgres] [--quick]

For each database: a fresh migrated database with N stations in wards of 100, a city group
with quiet hours holding them all, one approved bulletin, and the timetables of a city:
two daily slots for every station (06:00 and 17:00 local) and one daily slot per ward
(11:30). Timed, each in its own transaction and committed: the first plan of the whole
horizon, a second plan that finds nothing missing (the periodic job), and the edit path of
the API moving the 06:00 slot to 06:30 (the timetable update, the re-plan that cancels and
re-creates every one of its playbacks, and the conflict check). No numeric target.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
from scheduler.groups import service as groups
from scheduler.groups.schemas import GroupCreate
from scheduler.planning import conflicts, planner
from scheduler.playbacks.models import Playback, PlaybackStatus
from scheduler.timetables import service as timetables
from scheduler.timetables.schemas import TimetableCreate, TimetableUpdate
from scheduler.users import service as users
from scheduler.users.models import User

ZONE = "Asia/Ho_Chi_Minh"
WARD_SIZE = 100


@dataclass(frozen=True)
class Step:
    database: str
    step: str
    seconds: float
    created: int
    cancelled: int


def seed(db: Database, *, stations: int) -> tuple[int, int]:
    """Create the stations, their group, a bulletin and the timetables; return (admin, edited)."""
    now = utc_now()
    wards = max(stations // WARD_SIZE, 1)
    ids = seed_stations(db.engine, count=stations, wards=wards, now=now)
    bulletin_id = seed_bulletin(db.engine, now=now)
    yesterday = datetime.combine(now.date() - timedelta(days=1), time())
    with db.session() as session:
        admin = users.create_user(session=session, username="bench-admin",
                                  password="bench-password", role="admin")
        groups.create(session=session, by=admin, data=GroupCreate(
            name="Thành phố", kind="city", station_ids=ids, quiet_start=time(22),
            quiet_end=time(5)))
        edited = _daily(session, admin, bulletin_id, ids, yesterday.replace(hour=6))
        _daily(session, admin, bulletin_id, ids, yesterday.replace(hour=17))
        for ward in range(wards):
            _daily(session, admin, bulletin_id, ids[ward::wards],
                   yesterday.replace(hour=11, minute=30))
        return admin.id, edited


def _daily(session: Session, admin: User, bulletin_id: int, station_ids: list[int],
           wall: datetime) -> int:
    data = TimetableCreate(bulletin_id=bulletin_id, station_ids=station_ids, starts_at=wall,
                           recurrence="FREQ=DAILY")
    return timetables.create(session=session, data=data, by=admin, default_zone=ZONE).id


def counts(db: Database) -> tuple[int, int]:
    """Return (live, cancelled) playbacks."""
    with db.session() as session:
        cancelled = PlaybackStatus.CANCELLED.value
        total = session.scalar(select(func.count()).select_from(Playback)) or 0
        gone = session.scalar(select(func.count()).select_from(Playback)
                              .where(Playback.status == cancelled)) or 0
    return total - gone, gone


def timed(db: Database, kind: str, name: str, work: Callable[[Session], Any]) -> Step:
    """Run work in one committed transaction; count the playbacks it created and cancelled."""
    live, gone = counts(db)
    with Stopwatch() as watch, db.session() as session:
        work(session)
    live_after, gone_after = counts(db)
    cancelled = gone_after - gone
    return Step(kind, name, watch.seconds, live_after - live + cancelled, cancelled)


def run(kind: str, args: argparse.Namespace, workdir: Path) -> list[Step]:
    """Seed one database and time the three planning steps on it."""
    horizon = timedelta(hours=args.hours)
    with fresh_database(kind, workdir) as db:
        admin_id, edited = seed(db, stations=args.stations)
        now = utc_now()

        def plan(session: Session) -> None:
            planner.plan(session=session, now=now, horizon=horizon)

        def edit(session: Session) -> None:
            admin = session.get(User, admin_id)
            assert admin is not None
            moved = datetime.combine(now.date() - timedelta(days=1), time(6, 30))
            timetable = timetables.update(
                session=session, timetable_id=edited, change=TimetableUpdate(starts_at=moved),
                default_zone=ZONE, by=admin)
            planner.replan(session=session, timetable=timetable, now=now, horizon=horizon)
            conflicts.resolve(session, timetable_id=timetable.id, priority=timetable.priority,
                              displace=False)

        return [timed(db, kind, "first plan", plan), timed(db, kind, "plan again (no-op)", plan),
                timed(db, kind, "edit one timetable", edit)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.planning", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--db", default=",".join(KINDS), help="sqlite, postgres or both")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.stations = 200
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    steps: list[Step] = []
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK_DIR, prefix="planning-") as tmp:
        for kind in (k.strip() for k in args.db.split(",") if k.strip()):
            steps += run(kind, args, Path(tmp))
    wards = max(args.stations // WARD_SIZE, 1)
    print_table(f"Planning: {args.stations:,} stations, {wards + 2} daily timetables, "
                f"{args.hours} h horizon (no numeric target)",
                ["database", "step", "seconds", "created", "cancelled", "playbacks/s"],
                [[s.database, s.step, s.seconds, s.created, s.cancelled,
                  (s.created / s.seconds) if s.created else "-"] for s in steps])
    return 0


if __name__ == "__main__":
    sys.exit(main())
