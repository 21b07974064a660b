"""The Mosquitto that `wardcast serve` runs: started again when it dies, gone when the
scheduler is killed, its files private, and stations from before the password file let in.

Real processes: `wardcast serve`, its mosquitto child, mosquitto_sub/pub as stations.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from scheduler import messaging
from scheduler.app import create_app
from scheduler.broker.supervisor import BrokerStartError
from scheduler.config import Settings
from scheduler.messaging import embedded_mosquitto
from tests.support.procs import children, free_port, port_open, wait_for
from tests.support.server import Server
from wardcast.protocol import Channel, station_topic

pytestmark = pytest.mark.e2e


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a parent that is gone counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def _can_log_in(server: Server, station_id: int, token: str) -> bool:
    done = subprocess.run(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(server.mqtt_port), "-V", "mqttv311",
         "-i", str(station_id), "-u", str(station_id), "-P", token,
         "-t", station_topic(str(station_id), Channel.PLAN), "-E"],
        capture_output=True, timeout=20)
    return done.returncode == 0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "server").setup(embedded_broker="mosquitto").start()
    yield running
    running.stop()


def _server_pid(server: Server) -> int:
    assert server.proc is not None and server.proc.popen is not None
    return server.proc.popen.pid


def _mosquitto_pid(server: Server) -> int:
    wait_for(lambda: len(children(_server_pid(server), "mosquitto")) == 1, timeout=10,
             what="the scheduler's one mosquitto")
    return children(_server_pid(server), "mosquitto")[0]


def _station(server: Server) -> tuple[int, str]:
    made = server.api().post("/stations", json={"name": f"Trạm {time.monotonic_ns()}",
                                                "ward": "Phường Tân Lợi"})
    assert made.status_code == 201, made.text
    station = (int(made.json()["id"]), str(made.json()["token"]))
    wait_for(lambda: _can_log_in(server, *station), timeout=10, what="the station's login")
    return station


def test_a_killed_mosquitto_is_started_again_and_stations_log_in_again(server: Server) -> None:
    station = _station(server)
    first = _mosquitto_pid(server)
    subprocess.run(["kill", "-9", str(first)], check=True)
    wait_for(lambda: children(_server_pid(server), "mosquitto") not in ([], [first]),
             timeout=20, what="a new mosquitto")
    wait_for(server.healthy, timeout=30, what="the scheduler connected to it again")
    assert _can_log_in(server, *station)
    assert server.proc is not None
    assert "mosquitto exited with code -9; starting it again" in server.proc.output()


def test_mosquitto_goes_with_a_scheduler_killed_by_sigkill(server: Server) -> None:
    broker = _mosquitto_pid(server)
    assert server.proc is not None
    server.proc.stop(sig=signal.SIGKILL)
    wait_for(lambda: not _alive(broker), timeout=10, what="mosquitto to end with its parent")
    wait_for(lambda: not port_open(server.mqtt_port), timeout=10, what="the port to be free")
    server.start()  # same data dir, same ports: it comes back by itself
    assert _mosquitto_pid(server) != broker


def test_the_brokers_files_are_private_and_name_only_live_tokens(server: Server) -> None:
    folder = Path(server.env["WARDCAST_DATA_DIR"]) / "broker"
    kept, revoked = _station(server), _station(server)
    assert server.api().post(f"/stations/{revoked[0]}/revoke").status_code == 200
    assert folder.stat().st_mode & 0o777 == 0o700
    for path in folder.iterdir():
        if path.is_file():
            assert path.stat().st_mode & 0o077 == 0, path
    users = [line.split(":", 1)[0] for line in
             (folder / "stations.passwd").read_text().splitlines()]
    assert str(kept[0]) in users and str(revoked[0]) not in users
    assert kept[1] not in (folder / "stations.passwd").read_text()  # hashed, never in clear


def test_a_station_from_before_the_password_file_logs_in_once_it_shows_its_token(
        server: Server) -> None:
    """Stations made before their broker hash was kept are let in after their first HTTP
    request (an agent reads the scheduler's clock at start and every few minutes)."""
    station_id, token = _station(server)
    server.stop()
    database = Path(server.env["WARDCAST_DATA_DIR"]) / "wardcast.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("UPDATE stations SET broker_password_hash = NULL WHERE id = ?",
                   (station_id,))
    server.start()
    assert not _can_log_in(server, station_id, token)
    answer = httpx.get(f"{server.base}/api/v1/agent/time",
                       headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    wait_for(lambda: _can_log_in(server, station_id, token), timeout=10,
             what="the station's login after its HTTP request")


def test_without_a_mosquitto_binary_the_default_says_it_falls_back_to_amqtt(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        tmp_path: Path) -> None:
    monkeypatch.setattr("scheduler.messaging.find_mosquitto", lambda _configured: None)
    with caplog.at_level(logging.WARNING, logger="scheduler.messaging"):
        assert embedded_mosquitto(Settings(data_dir=tmp_path)) is None
    assert "no mosquitto binary found: running the in-process amqtt broker" in caplog.text
    for asked in ({"embedded_broker": "mosquitto"},
                  {"mosquitto_binary": tmp_path / "no-such-mosquitto"}):
        with pytest.raises(RuntimeError, match="no executable mosquitto"):
            embedded_mosquitto(Settings(data_dir=tmp_path, **asked))  # type: ignore[arg-type]


def test_many_stations_registered_at_once_can_all_log_in(server: Server) -> None:
    """64 registrations in flight together (as `wardcast simulate` makes them): each answers
    once its login is on the broker, and none waits on the password-file writer.

    The writer once took its connection from the requests' pool: requests that held one had
    no thread left to finish on, every thread was waiting for the writer, and each answered
    only after a 10 s timeout, its station refused by the broker meanwhile."""
    async def register_all() -> list[tuple[int, str]]:
        async with httpx.AsyncClient(base_url=f"{server.base}/api/v1", timeout=60,
                                     headers={"Authorization": f"Bearer {server.token}"}
                                     ) as client:
            gate = asyncio.Semaphore(64)

            async def one(number: int) -> tuple[int, str]:
                async with gate:
                    made = await client.post("/stations", json={"name": f"Trạm loạt {number}",
                                                                "ward": "Phường Thành Nhất"})
                assert made.status_code == 201, made.text
                return int(made.json()["id"]), str(made.json()["token"])

            return await asyncio.gather(*(one(n) for n in range(1, 201)))

    server.api()  # logs in: server.token
    made = asyncio.run(register_all())
    for station in made[::20]:
        assert _can_log_in(server, *station)  # at once: no wait_for
    assert server.proc is not None
    assert " ERROR " not in server.proc.output(), server.proc.output()[-3000:]


@pytest.fixture
def taken() -> Iterator[int]:
    """A loopback port something else listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def _app_settings(tmp_path: Path, mqtt_port: int) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'db'}",
                    broker="embedded", embedded_broker="mosquitto",
                    mqtt_url=f"mqtt://127.0.0.1:{mqtt_port}")


def test_a_loopback_port_taken_before_mosquitto_binds_it_is_replaced(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path,
        taken: int) -> None:
    """The scheduler's own listener port is picked free, then bound by Mosquitto a moment
    later: another program (or an outgoing connection) can take it in between. CI once
    failed a start on exactly that; the scheduler picks another port and starts."""
    real = messaging.free_loopback_port
    picks = iter([taken])
    monkeypatch.setattr(messaging, "free_loopback_port", lambda: next(picks, None) or real())
    with caplog.at_level(logging.WARNING, logger="scheduler.messaging"), \
            TestClient(create_app(_app_settings(tmp_path, free_port()))) as client:
        assert client.get("/healthz").status_code == 200
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        assert runtime.accounts is not None
    assert f"the broker's loopback port {taken} was taken meanwhile" in caplog.text


def test_a_station_port_in_use_is_said_plainly(tmp_path: Path, taken: int) -> None:
    with pytest.raises(BrokerStartError, match=f"port {taken} on 127.0.0.1 is already in use"):
        with TestClient(create_app(_app_settings(tmp_path, taken))):
            pass
