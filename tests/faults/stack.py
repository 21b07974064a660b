"""The stacks the fault tests break, with short graces: a slot nobody reports is `missed` 5 s
after it, an offline station's after 15 min, checked twice a second."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from tests.support.mosquitto import Mosquitto
from tests.support.procs import children, port_open, wait_for
from tests.support.server import Server

GRACES = {"missed_grace_s": "5", "offline_grace_s": "900", "watchdog_interval_s": "0.5"}


def broker_and_server(tmp_path: Path, cleanup: ExitStack) -> tuple[Mosquitto, Server]:
    """Start Mosquitto and a scheduler on it, each stopped by cleanup."""
    broker = Mosquitto(tmp_path / "mosquitto").setup().start()
    cleanup.callback(broker.stop)
    server = Server(tmp_path / "server").setup(external_mqtt_url=broker.url, **GRACES).start()
    cleanup.callback(server.stop)
    return broker, server


@dataclass
class Breakable:
    """A scheduler and a broker that a test can kill, and wait to have back."""

    server: Server
    port: int  # where stations connect
    kill: Callable[[], None]
    back: Callable[[], None]


def production(tmp_path: Path, cleanup: ExitStack) -> Breakable:
    """A Mosquitto of its own, started again by the test."""
    broker, server = broker_and_server(tmp_path, cleanup)
    return Breakable(server, broker.port, broker.kill, broker.start)


def default_install(tmp_path: Path, cleanup: ExitStack) -> Breakable:
    """`wardcast serve` as a new user runs it: the Mosquitto it supervises, and starts again
    by itself when it dies."""
    server = Server(tmp_path / "server").setup(embedded_broker="mosquitto", **GRACES).start()
    cleanup.callback(server.stop)
    assert server.proc is not None and server.proc.popen is not None
    serve = server.proc.popen.pid
    killed: list[int] = []

    def kill() -> None:
        [pid] = children(serve, "mosquitto")
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    def back() -> None:
        wait_for(lambda: children(serve, "mosquitto") not in ([], killed[-1:])
                 and port_open(server.mqtt_port), timeout=30, what="the broker started again")

    return Breakable(server, server.mqtt_port, kill, back)
