"""Start and stop real processes for tests: free ports, readiness waits, clean shutdown."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """Return a TCP port on loopback that is free right now, below the ephemeral range.

    A port the kernel hands out for bind(0) is one it also hands out as the source port of
    outgoing connections (the tests make thousands, to PostgreSQL and brokers): between this
    call and the server binding it, one of them could take it. CI once failed on that.
    """
    ceiling = min(_ephemeral_start(), 65536)
    for _ in range(100):
        port = random.randrange(10000, ceiling) if ceiling > 10100 else 0
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free loopback port found below the ephemeral range")


def children(pid: int, name: str) -> list[int]:
    """Return the ids of a process's children of this name."""
    done = subprocess.run(["pgrep", "-P", str(pid), name], capture_output=True, text=True)
    return [int(p) for p in done.stdout.split()]


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll until predicate() is true or fail the test with what it was waiting for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def port_open(port: int) -> bool:
    """Tell whether something accepts TCP connections on loopback:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Proc:
    """A child process whose output goes to a log file, stopped with SIGTERM then SIGKILL."""

    started: list[Proc] = []  # every process the tests started, for the leak guard

    def __init__(self, argv: list[str], *, log: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.argv = argv
        self.log = log
        self.cwd = cwd
        self.env = {**os.environ, **(env or {})}
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        log = self.log.open("ab")
        self.popen = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
            cwd=self.cwd
        )
        log.close()
        Proc.started.append(self)
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, *, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)

    def kill(self) -> None:
        self.stop(sig=signal.SIGKILL)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
