"""The Mosquitto that `wardcast serve` runs and supervises when WARDCAST_BROKER=embedded.

amqtt, the broker wardcast used to run in its own process, dropped messages at 1,000
stations (docs/benchmarks.md); Mosquitto, where its binary exists, carries the default install
to a province. Its files live in the data dir's `broker/` folder and are written anew at every
start:

- stations log in on WARDCAST_MQTT_URL's listener from a password file written from the
  database (scheduler/broker/accounts.py `PasswordFileAccounts`), each confined to its own
  topics by one ACL pattern, and always under its own client id (`use_username_as_clientid`:
  one station cannot take over another's session, whatever client id it sends);
- the scheduler logs in on a second listener, on loopback only, with a secret made fresh at
  every start.

If Mosquitto dies it is started again (persistent sessions and queued messages come back from
its persistence file); it dies with the scheduler, even one killed with SIGKILL.
"""

from __future__ import annotations

import getpass
import logging
import os
import secrets
import shutil
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from scheduler.broker.acl import mosquitto_scheduler_acl, mosquitto_station_acl
from scheduler.broker.passwords import mosquitto_hash, write_password_file
from wardcast.protocol import MAX_PAYLOAD_BYTES, SCHEDULER_CLIENT_ID

log = logging.getLogger(__name__)

SEARCH = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
# the protocol's largest payload, and room for the topic and the packet's headers
MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 4096


def find_mosquitto(configured: Path | None = None, *,
                   search: Iterable[str] = SEARCH) -> Path | None:
    """Return the Mosquitto binary to run: the configured one, else on PATH or in sbin."""
    if configured is not None:
        return configured if configured.is_file() and os.access(configured, os.X_OK) else None
    found = shutil.which("mosquitto")
    if found:
        return Path(found)
    return next((Path(p) for p in search if os.access(p, os.X_OK)), None)


@dataclass(frozen=True)
class Layout:
    """Where the supervised broker's files are, and the two listeners."""

    folder: Path
    host: str
    port: int
    scheduler_port: int

    @property
    def config(self) -> Path:
        return self.folder / "mosquitto.conf"

    @property
    def station_passwords(self) -> Path:
        return self.folder / "stations.passwd"

    def write(self, *, scheduler_password: str) -> None:
        """Write the configuration, the ACLs and the scheduler's login (0600, dir 0700)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        self.write_station_acl({})
        _write(self.folder / "scheduler.acl", mosquitto_scheduler_acl(SCHEDULER_CLIENT_ID))
        write_password_file(self.folder / "scheduler.passwd",
                            [(SCHEDULER_CLIENT_ID, mosquitto_hash(scheduler_password))])
        if not self.station_passwords.exists():
            write_password_file(self.station_passwords, [])
        self.write_config()

    def write_config(self) -> None:
        """Write the broker's configuration only (its listeners, where its files are)."""
        _write(self.config, self._config_lines())

    def write_station_acl(self, groups: Mapping[str, Iterable[int]]) -> None:
        """Write the stations' topic rules, each station's groups under its username; whole
        or not at all (the broker may read it at any moment: a restart, a SIGHUP)."""
        path = self.folder / "stations.acl"
        partial = path.with_suffix(".acl.new")
        _write(partial, mosquitto_station_acl(groups))
        os.replace(partial, path)

    def _config_lines(self) -> list[str]:
        folder = self.folder
        return [
            "# Written by `wardcast serve` at every start: edits here are overwritten.",
            "per_listener_settings true",
            f"user {getpass.getuser()}",  # as root Mosquitto would switch to user mosquitto
            "persistence true",
            f"persistence_location {folder}/",
            "autosave_interval 60",
            "persistent_client_expiration 14d",
            # deploy/mosquitto/mosquitto.conf says why these queue sizes
            "max_queued_messages 100000",
            "max_queued_bytes 67108864",
            "queue_qos0_messages false",
            "max_inflight_messages 100",
            f"max_packet_size {MAX_PACKET_BYTES}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "connection_messages false",
            "log_timestamp false",
            "",
            f"listener {self.port} {self.host}",
            "allow_anonymous false",
            f"password_file {self.station_passwords}",
            f"acl_file {folder / 'stations.acl'}",
            "use_username_as_clientid true",
            "",
            f"listener {self.scheduler_port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {folder / 'scheduler.passwd'}",
            f"acl_file {folder / 'scheduler.acl'}",
        ]


def _write(path: Path, lines: Iterable[str]) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.writelines(f"{line}\n" for line in lines)


def free_loopback_port() -> int:
    """Return a loopback TCP port that is free right now (for the scheduler's listener)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_scheduler_secret() -> str:
    return secrets.token_urlsafe(24)
