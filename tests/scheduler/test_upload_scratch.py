"""Upload scratch folders: a start removes those of processes that are gone (whatever killed
them) and never one of a process still running on the same data dir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scheduler.bulletins.scratch import LOCK_SUFFIX, Scratch

HOLDER = """
import sys, time
from pathlib import Path
from scheduler.bulletins.scratch import Scratch
folder = Scratch(Path(sys.argv[1])).open()
(folder / "x.upload").write_bytes(b"a" * 1000)
print(folder, flush=True)
time.sleep(600)
"""


def _holder(parent: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(parent)], text=True,
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_a_live_processs_scratch_is_kept_and_a_killed_ones_removed(tmp_path: Path) -> None:
    parent = tmp_path / "incoming"
    live, live_folder = _holder(parent)
    killed, killed_folder = _holder(parent)
    (parent / "older-version.upload").write_bytes(b"b" * 10)  # loose, as 0.1 left them
    try:
        killed.kill()
        killed.wait(10)
        mine = Scratch(parent)
        folder = mine.open()
        assert (live_folder / "x.upload").exists()  # its process runs: untouched
        assert not killed_folder.exists()
        assert not killed_folder.with_name(killed_folder.name + LOCK_SUFFIX).exists()
        assert not (parent / "older-version.upload").exists()
        assert folder.is_dir() and folder.parent == parent
        mine.close()
        assert not folder.exists()
    finally:
        live.kill()
        live.wait(10)
    later = Scratch(parent)
    later.open()
    assert not live_folder.exists()  # its process is gone now
    assert sorted(p.name for p in parent.iterdir()) == sorted(
        [later.folder.name, later.folder.name + LOCK_SUFFIX])
    later.close()
