"""Scratch space for uploads being received and processed: one folder per process.

A scheduler killed during an upload (SIGKILL, a power cut, the OOM killer) cleans nothing up:
its `*.upload` copy and ffmpeg's work files stayed for ever. So each process works in
`incoming/<id>/` and holds a lock on `incoming/<id>.lock` while it lives; the kernel drops
the lock when the process dies, however it dies. At start-up every folder whose lock nobody
holds is removed, and nothing of a process still running on the same data dir (a second
replica started from the same folder) is touched.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import shutil
from pathlib import Path

from wardcast.private import private_dir

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"


class Scratch:
    """This process's folder under a parent, and the removal of dead processes' folders."""

    def __init__(self, parent: Path) -> None:
        self.parent = parent
        self.folder = parent / f"{os.getpid()}-{secrets.token_hex(4)}"
        self._lock: int | None = None

    def open(self) -> Path:
        """Sweep what dead processes left, then make and lock this process's folder."""
        if self._lock is not None:
            return self.folder
        private_dir(self.parent)
        self.sweep()
        # locked under a hidden name, then renamed: no sweep ever sees this lock unheld
        hidden = self.parent / f".{self.folder.name}{LOCK_SUFFIX}"
        lock = os.open(hidden, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        hidden.rename(self.folder.with_name(self.folder.name + LOCK_SUFFIX))
        self._lock = lock
        return private_dir(self.folder)  # made after its lock: a folder with none is dead

    def close(self) -> None:
        """Remove this process's folder and its lock (a stopped scheduler leaves neither)."""
        if self._lock is None:
            return
        _remove(self.folder)
        self.folder.with_name(self.folder.name + LOCK_SUFFIX).unlink(missing_ok=True)
        os.close(self._lock)
        self._lock = None

    def sweep(self) -> None:
        """Remove the folders of processes that are gone, and older versions' loose files."""
        for entry in sorted(self.parent.iterdir()):
            if entry.name.startswith("."):
                continue  # a lock being made
            if entry.name.endswith(LOCK_SUFFIX):
                folder = entry.with_name(entry.name.removesuffix(LOCK_SUFFIX))
                if not _dead(entry):
                    continue
            elif entry.with_name(entry.name + LOCK_SUFFIX).exists():
                continue  # its lock decides
            else:
                # a loose *.upload of an older version, or a dead folder whose lock is gone
                folder = entry
            size = _remove(folder)
            log.info("removed upload scratch %s, left by a process that is gone (%d bytes)",
                     folder.name, size)


def _dead(lock: Path) -> bool:
    """Tell whether the process that held this lock is gone; if so, remove the lock."""
    try:
        descriptor = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return False  # another sweep took it
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # held: its process runs
    else:
        lock.unlink(missing_ok=True)  # while we hold it: no other sweep can take it now
        return True
    finally:
        os.close(descriptor)


def _remove(path: Path) -> int:
    """Remove a file or folder; return how many bytes of files it held."""
    if path.is_dir() and not path.is_symlink():
        size = sum(_size(f) for f in path.rglob("*"))
        shutil.rmtree(path, ignore_errors=True)
        return size
    size = _size(path)
    path.unlink(missing_ok=True)
    return size


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size if path.is_file() and not path.is_symlink() else 0
    except OSError:
        return 0
