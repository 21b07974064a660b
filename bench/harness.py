"""Shared helpers of the fleet benchmarks: a real stack, a simulated fleet, figures.

The stack is what production runs on one machine: Mosquitto with dynamic security, a fresh
PostgreSQL database, and a ``wardcast serve`` process; the fleet is one ``wardcast simulate``
process. Other benchmarks may import from here; the names in ``__all__`` keep their meaning.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import random
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from scheduler.broker.accounts import FLEET_ROLE
from scheduler.broker.acl import dynsec_fleet_acls, dynsec_station_acls
from simulate.stats import Counts, last_counts
from tests.support.audio import speech_wav
from tests.support.mosquitto import Mosquitto
from tests.support.procs import Proc, wait_for
from tests.support.server import ADMIN, Server, upload_approved, wardcast

ROOT = Path(__file__).resolve().parent.parent
WORK_ROOT = ROOT / "test-artifacts" / "bench"
POSTGRES_ENV = "WARDCAST_TEST_POSTGRES_URL"
# Mosquitto 2.0's dynamic-security plugin rewrites its whole JSON file after every command,
# so creating stations one by one is quadratic (3,000 took 196 s here). Above this many,
# a benchmark writes the broker's logins straight into that file while the broker is down.
SEED_ABOVE = 2000
DYNSEC_ITERATIONS = 101  # what mosquitto_ctrl and the plugin use
FINAL = {"played", "failed", "missed", "skipped", "interrupted", "cancelled"}
BROKER_TUNING = (
    "set_tcp_nodelay true\n"  # small QoS 1 packets must not wait for Nagle
    "max_connections -1\n"
)

__all__ = ["FINAL", "INSTALLS", "Fleet", "Stack", "WORK_ROOT", "fleet", "ms", "instant",
           "percentiles", "print_figures", "rows_of_bulletin", "speech_clip", "stack",
           "upload_approved", "wait_rows", "workdir"]


def workdir(name: str) -> Path:
    """Return a fresh directory for one benchmark run under test-artifacts/bench."""
    path = WORK_ROOT / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:4]}"
    path.mkdir(parents=True)
    return path


# --- figures --------------------------------------------------------------------------------

def percentiles(values: Sequence[float]) -> dict[str, float]:
    """Return p50, p99 and max (nearest rank) of a non-empty sequence."""
    ordered = sorted(values)

    def rank(fraction: float) -> float:
        return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]

    return {"p50": rank(0.50), "p99": rank(0.99), "max": ordered[-1]}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def print_figures(title: str, rows: Sequence[tuple[str, str]]) -> None:
    """Print a titled two-column table of figures."""
    width = max(len(label) for label, _ in rows)
    print(f"\n{title}")
    print("-" * len(title))
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


# --- the stack ------------------------------------------------------------------------------

# What a benchmark runs on: `production` is Mosquitto with dynamic security and PostgreSQL;
# `default` is what a new user gets from `wardcast serve` (the Mosquitto it runs itself,
# SQLite); `amqtt` is the default install on a machine without a mosquitto binary.
INSTALLS = ("production", "default", "amqtt")


@dataclass
class Stack:
    """The broker, the database and the scheduler, running."""

    workdir: Path
    broker: Mosquitto | None  # the external one (production); None: `wardcast serve`'s own
    server: Server
    database_url: str | None  # None: the default SQLite file in the data dir
    install: str = "production"

    def api(self) -> httpx.Client:
        return self.server.api()

    @property
    def mqtt_url(self) -> str:
        """Where stations connect."""
        return self.broker.plain_url if self.broker else self.server.mqtt_url

    @property
    def mqtt_port(self) -> int:
        return self.broker.port if self.broker else self.server.mqtt_port


def postgres_admin_url() -> str:
    """Return the URL of a PostgreSQL role that may create databases (starting it if need be)."""
    if not os.environ.get(POSTGRES_ENV):
        done = subprocess.run(["bash", str(ROOT / "scripts" / "test-postgres.sh")],
                              capture_output=True, text=True, check=True)
        os.environ[POSTGRES_ENV] = done.stdout.strip()
    return os.environ[POSTGRES_ENV]


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """Yield the URL of a new, empty PostgreSQL database; drop it afterwards."""
    from tests.support.postgres import fresh_database

    with fresh_database(postgres_admin_url(), prefix="wardcast_bench") as url:
        yield url


def listen_port() -> int:
    """Return a free port below Linux's ephemeral range (32768+).

    Thousands of client sockets take ephemeral ports; a broker restarted on one of those
    could find its own port taken by a client.
    """
    for port in random.sample(range(20000, 32000), 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


@contextmanager
def stack(work: Path, *, install: str = "production", **settings: str) -> Iterator[Stack]:
    """Run the broker, the database and ``wardcast serve`` of one install (INSTALLS)."""
    if install not in INSTALLS:
        raise ValueError(f"unknown install {install!r}: one of {', '.join(INSTALLS)}")
    if install != "production":
        server = Server(work / "server", mqtt_port=listen_port()).setup(
            embedded_broker="mosquitto" if install == "default" else "amqtt", **settings)
        try:
            server.start()
            yield Stack(work, None, server, None, install)
        finally:
            server.stop()
        return
    with fresh_postgres() as database_url:
        broker = Mosquitto(work / "mosquitto", port=listen_port()).setup()
        conf = broker.workdir / "mosquitto.conf"
        # The tests save the broker's state every second; production (deploy/) every minute.
        conf.write_text(conf.read_text().replace("autosave_interval 1\n", "autosave_interval 60\n")
                        + BROKER_TUNING)
        broker.start()
        server = Server(work / "server").setup(external_mqtt_url=broker.url,
                                               database_url=database_url, **settings)
        try:
            server.start()
            yield Stack(work, broker, server, database_url)
        finally:
            server.stop()
            broker.stop()


def speech_clip(work: Path, text: str) -> Path:
    """Synthesise a short Vietnamese bulletin as WAV."""
    return speech_wav(work / f"clip-{uuid.uuid4().hex[:6]}.wav", text=text)


# --- the fleet ------------------------------------------------------------------------------

@dataclass
class Fleet:
    """Running ``wardcast simulate`` processes and their stations' logins."""

    procs: list[Proc]
    logins: dict[int, str]  # station id -> token
    connect_s: float  # from process start to every station connected with its plan

    @property
    def station_ids(self) -> list[int]:
        return sorted(self.logins)

    def counts(self) -> Counts:
        """Every process's latest summary counts, added up."""
        each = [last_counts(proc.output()) or Counts() for proc in self.procs]
        return Counts(*(sum(column) for column in zip(*each, strict=True)))

    def cpu_s(self) -> float:
        """The CPU time (user and system) the simulator processes have used so far."""
        return sum(cpu_seconds(proc.popen.pid) for proc in self.procs if proc.popen)

    def summaries(self) -> list[str]:
        """Each process's own last word: its final summary (start errors as it measured)."""
        return [proc.output().strip().splitlines()[-1].split("stopped; ", 1)[-1]
                for proc in self.procs]


@contextmanager
def fleet(running: Stack, *, stations: int, processes: int = 1, prefix: str = "BENCH",
          seed: bool | None = None, timeout: float = 900,
          own_media: bool = False) -> Iterator[Fleet]:
    """Run the simulator with N stations, split over some processes, and wait until all of
    them are connected with their plans (own_media: each downloads its own copy of media).

    Simulated stations are independent agents; on a 2-core machine two processes let the
    fleet use the second core while the scheduler is idle (see docs/benchmarks.md).
    """
    sizes = [stations // processes + (1 if k < stations % processes else 0)
             for k in range(processes)]
    names = [prefix if processes == 1 else f"{prefix}{k + 1}" for k in range(processes)]
    began = time.monotonic()
    procs = [Proc(wardcast("simulate", "--server", running.server.base, "--stations",
                           str(size), "--username", ADMIN[0], "--password", ADMIN[1],
                           "--mqtt", running.mqtt_url, "--prefix", name,
                           "--state-dir", str(running.workdir / f"sim-{name}"),
                           "--summary", "5", *(["--own-media"] if own_media else [])),
                  log=running.workdir / f"simulate-{name}.log").start()
             for size, name in zip(sizes, names, strict=True)]
    try:
        logins: dict[int, str] = {}
        for proc, name in zip(procs, names, strict=True):
            credentials = running.workdir / f"sim-{name}" / "credentials.json"
            wait_for(lambda p=proc, c=credentials: _alive(p) and c.exists(), timeout=timeout,
                     what="the simulator to register its stations")
            logins |= {int(c["station_id"]): str(c["token"])
                       for c in json.loads(credentials.read_text())}
        # dynsec only: `wardcast serve`'s own broker takes thousands of logins as they come
        if running.broker and (seed if seed is not None else stations > SEED_ABOVE):
            seed_broker(running.broker, logins)
        for proc, size in zip(procs, sizes, strict=True):
            wait_for(lambda p=proc, n=size: _alive(p)
                     and f"all {n} station(s) connected" in p.output(),
                     timeout=timeout, what=f"{size} simulated stations to connect")
            # Each connect asks for the station's plan: wait until every answer has arrived,
            # so that what a benchmark measures next does not queue behind them.
            wait_for(lambda p=proc, n=size: _alive(p) and _plans_received(p) >= n,
                     timeout=timeout, what=f"{size} simulated stations to receive their plans")
        yield Fleet(procs, logins, time.monotonic() - began)
    finally:
        for proc in procs:
            proc.stop(timeout=120)


def cpu_seconds(pid: int) -> float:
    """Return a process's CPU time (user + system) so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _plans_received(proc: Proc) -> int:
    """Return the plans the simulator counted in its latest summary line."""
    counts = last_counts(proc.output())
    return counts.plans if counts else 0


def _alive(proc: Proc) -> bool:
    if not proc.running:
        raise RuntimeError("the simulator exited:\n" + proc.output()[-3000:])
    return True


def seed_broker(broker: Mosquitto, logins: dict[int, str]) -> None:
    """Write station logins and roles into the stopped broker's dynsec file, then restart."""
    broker.stop()
    path = broker.workdir / "dynamic-security.json"
    config = json.loads(path.read_text())
    clients = {c["username"]: c for c in config["clients"]}
    roles = {r["rolename"]: r for r in config["roles"]}
    # every station also holds the fleet's role, as DynsecAccounts gives it (the scheduler
    # made the role at its start: it is in the file already, or made here)
    roles.setdefault(FLEET_ROLE, {"rolename": FLEET_ROLE, "acls": [
        {"priority": 0, **acl} for acl in dynsec_fleet_acls()]})
    for station_id, token in logins.items():
        name, role = str(station_id), f"station-{station_id}"
        roles[role] = {"rolename": role, "acls": [{"priority": 0, **acl}
                                                  for acl in dynsec_station_acls(name)]}
        clients[name] = {"username": name, "clientid": name,
                         "roles": [{"rolename": role}, {"rolename": FLEET_ROLE}],
                         **_dynsec_password(token)}
    config["clients"], config["roles"] = list(clients.values()), list(roles.values())
    path.write_text(json.dumps(config))
    broker.start()


def _dynsec_password(password: str) -> dict[str, Any]:
    """Hash a password the way the dynamic-security plugin stores it (PBKDF2-SHA512)."""
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, DYNSEC_ITERATIONS)
    return {"password": base64.b64encode(digest).decode(),
            "salt": base64.b64encode(salt).decode(), "iterations": DYNSEC_ITERATIONS}


# --- the ledger -----------------------------------------------------------------------------

def rows_of_bulletin(api: httpx.Client, bulletin_id: int) -> list[dict[str, Any]]:
    """Return every playback row of a bulletin (all pages)."""
    rows: list[dict[str, Any]] = []
    while True:
        page = api.get("/playbacks", params={"bulletin_id": bulletin_id, "limit": 1000,
                                             "offset": len(rows)}).json()
        rows += page["items"]
        if not page["items"] or len(rows) >= page["total"]:
            return rows


def wait_rows(api: httpx.Client, bulletin_id: int, *, expected: int, statuses: set[str],
              timeout: float, poll_s: float = 1.0) -> list[dict[str, Any]]:
    """Wait until a bulletin's expected rows all have one of the statuses; return them.

    While waiting it asks only for counts (one row per status): reading all 10,000 rows
    every second would load the scheduler it measures.
    """
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = sum(count_rows(api, bulletin_id, status=status) for status in statuses)
        if done >= expected:
            rows = rows_of_bulletin(api, bulletin_id)
            if len(rows) >= expected and all(r["status"] in statuses for r in rows):
                return rows
        time.sleep(poll_s)
    raise TimeoutError(f"only {done} of {expected} playbacks reached {sorted(statuses)}")


def count_rows(api: httpx.Client, bulletin_id: int, *, status: str) -> int:
    """Return how many playbacks of a bulletin have a status."""
    page = api.get("/playbacks", params={"bulletin_id": bulletin_id, "status": status,
                                         "limit": 1})
    page.raise_for_status()
    return int(page.json()["total"])


def instant(value: object) -> datetime:
    """Parse an ISO 8601 time from the API."""
    return datetime.fromisoformat(str(value))
