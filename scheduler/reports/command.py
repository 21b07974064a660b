"""`wardcast report activity`: the activity report written to a file, from the command line."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import BinaryIO

OFFERED = ("json", "csv", "xlsx", "pdf")  # what the command takes; formats.FORMATS has


def add_arguments(parser: argparse.ArgumentParser) -> None:
    span = parser.add_mutually_exclusive_group(required=True)
    span.add_argument("--period", help="2026-H1, 2026-H2 or 2026 (Decree 09/2019 cut-offs, or "
                                       "WARDCAST_REPORT_YEAR_START / _HALF_START)")
    span.add_argument("--from", dest="first", type=date.fromisoformat, metavar="YYYY-MM-DD",
                      help="the first local day (with --to)")
    parser.add_argument("--to", dest="last", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="the last local day, included")
    parser.add_argument("--ward", action="append", help="only this ward (repeat for several)")
    parser.add_argument("--format", choices=OFFERED, required=True)
    parser.add_argument("--out", type=Path, required=True, help="the file to write")


def main(args: argparse.Namespace) -> int:
    """Compute the report and write it; print one line saying what was written."""
    # imported lazily: every `wardcast` command builds this one's arguments, and the agent's
    # machines need none of the scheduler to do so
    from scheduler.config import get_settings
    from scheduler.db import Database
    from scheduler.errors import DomainError
    from scheduler.migrations import upgrade
    from scheduler.reports import formats, scope, service
    from wardcast.private import private_dir
    from wardcast.protocol import utcnow

    chosen = formats.FORMATS.get(args.format)
    if chosen is None:
        print(f"error: this install cannot write {args.format} yet (it can: "  # noqa: T201
              f"{', '.join(formats.FORMATS)})", file=sys.stderr)
        return 2
    settings = get_settings()
    private_dir(settings.data_dir)
    db = Database(settings.sqlalchemy_url)
    try:
        upgrade(db.engine)
        with db.session() as session:
            period = scope.period(name=args.period, first=args.first, last=args.last,
                                  timezone=settings.timezone, cutoffs=settings.report_cutoffs)
            wards = scope.wards(session=session, asked=args.ward, user=None)
            report = service.activity(session=session, period=period, wards=wards,
                                      now=utcnow(), cutoffs=settings.report_cutoffs)
            names = formats.names(session)
        _write(args.out, lambda out: chosen.write(report, names, out, settings))
    except (DomainError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    finally:
        db.dispose()
    print(f"wrote {args.out}: {args.format}, {report.title}, "  # noqa: T201
          f"{len(report.stations)} station(s) in {len(report.wards)} ward(s)")
    return 0


def _write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write the file whole or not at all: a temporary file beside it, renamed over it."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(name, 0o666 & ~umask)  # as any file the user writes (mkstemp made it 0600)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def keep(args: argparse.Namespace) -> int:
    """Keep the report tallies now (as the daily job does); print what was kept."""
    # imported lazily, as main's: the agent's machines build this command's arguments too
    from scheduler.config import get_settings
    from scheduler.db import Database
    from scheduler.migrations import upgrade
    from scheduler.reports.kept import fill
    from scheduler.reports.kept.horizon import WritersStillOpen
    from wardcast.private import private_dir
    from wardcast.protocol import utcnow

    settings = get_settings()
    private_dir(settings.data_dir)
    db = Database(settings.sqlalchemy_url)
    try:
        upgrade(db.engine)
        outcome = fill.fill(db=db, settings=settings, now=utcnow())
    except (WritersStillOpen, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    finally:
        db.dispose()
    print(f"kept tallies before {outcome.before:%Y-%m-%d %H:%M} UTC: "  # noqa: T201
          f"{outcome.stations} station(s), {outcome.rows} row(s), "
          f"{outcome.skipped} changed while counted")
    return 0
