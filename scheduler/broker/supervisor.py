"""Run a broker process, forward what it says to our log, and start it again if it dies."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from media.lifetime import die_with_parent

log = logging.getLogger(__name__)

RESTART_DELAYS_S = (1.0, 2.0, 5.0, 10.0, 30.0)
STOP_TIMEOUT_S = 5.0


class BrokerStartError(RuntimeError):
    """The broker did not start; the message says why, with its own last words."""


def listening(host: str, port: int) -> bool:
    """Tell whether something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Supervised:
    """One child process, kept running by a thread of its own until stop().

    The thread that starts the child is the one that waits for it, so the child's
    parent-death signal fires only when the scheduler's process goes (PR_SET_PDEATHSIG is
    tied to the thread that forked).
    """

    def __init__(self, argv: Sequence[str], *, name: str, ready: Sequence[tuple[str, int]],
                 output: logging.Logger, benign: Sequence[str] = (),
                 levels: Callable[[str], int] | None = None) -> None:
        self._argv = list(argv)
        self._name = name
        self._ready_at = list(ready)
        self._output = output
        self._benign = tuple(benign)  # lines it always says that need nobody's attention
        self._levels = levels  # the level of each line, for a child that says it (else: guessed)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._ready = threading.Event()  # the current child listens
        self._ever_ready = False
        self._stopping = threading.Event()
        self._exited = threading.Event()  # the first child ended before it was ready
        self._last_words: deque[str] = deque(maxlen=20)
        self._thread = threading.Thread(target=self._run, name=f"{name}-supervisor",
                                        daemon=True)
        self.restarts = 0

    def start(self, timeout: float) -> None:
        """Start the child and wait until it listens; raise BrokerStartError if it cannot."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self._exited.is_set() or time.monotonic() > deadline:
                self.stop()
                what = ("exited at start" if self._exited.is_set()
                        else f"was not listening after {timeout:.0f} s")
                said = "\n".join(self._last_words) or "(nothing)"
                raise BrokerStartError(f"{self._name} {what}; it said:\n{said}")

    def signal(self, number: int) -> bool:
        """Send the running, ready child a signal; False when there is none to send it to."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None or not self._ready.is_set():
                return False
            self._proc.send_signal(number)
            return True

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL) and its supervisor."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(STOP_TIMEOUT_S + 1)

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._proc.pid if self._proc is not None else None

    def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            code = self._run_once()
            if self._stopping.is_set():
                return
            if not self._ever_ready:
                self._exited.set()
                return
            if time.monotonic() - started > 60:
                attempt = 0  # it ran a good while: start again quickly
            delay = RESTART_DELAYS_S[min(attempt, len(RESTART_DELAYS_S) - 1)]
            log.error("%s exited with code %s; starting it again in %.0f s", self._name, code,
                      delay)
            attempt += 1
            self.restarts += 1
            if self._stopping.wait(delay):
                return

    def _run_once(self) -> int:
        self._ready.clear()  # a child not yet listening has no SIGHUP handler: it would die
        proc = subprocess.Popen(self._argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1,
                                # SIGTERM, so that Mosquitto saves its persistence file
                                preexec_fn=die_with_parent(signal.SIGTERM))
        with self._lock:
            self._proc = proc
        watcher = threading.Thread(target=self._wait_ready, args=(proc,), daemon=True,
                                   name=f"{self._name}-ready")
        watcher.start()
        assert proc.stdout is not None
        for line in proc.stdout:  # until the child closes its output: it is exiting
            self._say(line.rstrip())
        code = proc.wait()
        watcher.join()
        return code

    def _wait_ready(self, proc: subprocess.Popen[str]) -> None:
        while proc.poll() is None and not self._stopping.is_set():
            if all(listening(host, port) for host, port in self._ready_at):
                log.info("%s is listening (pid %s)", self._name, proc.pid)
                self._ever_ready = True
                self._ready.set()
                return
            time.sleep(0.05)

    def _say(self, line: str) -> None:
        if not line:
            return
        self._last_words.append(line)
        if self._levels is not None:
            level = self._levels(line)
        elif line.startswith(self._benign):
            level = logging.INFO
        else:
            level = logging.ERROR if "error" in line.lower() else logging.WARNING
        self._output.log(level, "%s", line)
