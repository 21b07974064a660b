"""The stack the fault tests break: a real Mosquitto and a scheduler with short graces."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from tests.support.mosquitto import Mosquitto
from tests.support.server import Server


def broker_and_server(tmp_path: Path, cleanup: ExitStack) -> tuple[Mosquitto, Server]:
    """Start Mosquitto and a scheduler on it, each stopped by cleanup. A slot nobody reports
    is `missed` 5 s after it, an offline station's after 15 min, checked twice a second."""
    broker = Mosquitto(tmp_path / "mosquitto").setup().start()
    cleanup.callback(broker.stop)
    server = Server(tmp_path / "server").setup(
        external_mqtt_url=broker.url, missed_grace_s="5", offline_grace_s="900",
        watchdog_interval_s="0.5").start()
    cleanup.callback(server.stop)
    return broker, server
