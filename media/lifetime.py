"""Child processes that die with the process that started them, even one killed by SIGKILL.

A scheduler killed during an upload left its ffmpeg running on (a 4-hour upload decodes for
minutes), holding CPU and files nobody would use. On Linux the kernel can send a child a
signal when its parent goes (PR_SET_PDEATHSIG); elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
# Loaded now: the child runs the function between fork and exec, where it must not import.
_libc = (ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
         if sys.platform == "linux" else None)


def die_with_parent(signum: int) -> Callable[[], None] | None:
    """Return a preexec_fn that has the child sent signum when its parent dies, or None.

    The signal comes when the *thread* that started the child ends, so start it from a
    thread that waits for it (subprocess.run does). One prctl call and a check, through a
    preloaded libc: nothing in the child that could wait on a lock another thread held.
    """
    if _libc is None:
        return None
    libc, parent = _libc, os.getpid()

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signum)
        if os.getppid() != parent:  # the parent died before the prctl: no signal will come
            os._exit(1)

    return preexec
