"""Folders and SQLite files that only the user running wardcast may read.

The scheduler's database holds token and password hashes and the whole ledger; an agent's
holds its plan and proof of play. Both were created 0644 in 0755 folders: anyone with a login
on the machine could copy them. SQLite gives its -wal, -shm and -journal files the mode of
the database file, so a database created 0600 keeps them 0600 too.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """Make a folder (and its parents) and keep it 0700; an older, looser one is tightened."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(path, 0o700)
    return path


def private_sqlite(path: Path) -> None:
    """Create a SQLite database file 0600 if it is missing; tighten it and its companions."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # an empty file is a database
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            _tighten(companion, 0o600)


def _tighten(path: Path, mode: int) -> None:
    current = path.stat().st_mode & 0o777
    if current & ~mode == 0:
        return
    try:
        path.chmod(mode)
    except OSError as exc:  # not ours (a mounted volume): say so and carry on
        log.warning("cannot make %s private (mode %o): %s", path, current, exc)
        return
    log.info("made %s private: mode %o, was %o", path, mode, current)
