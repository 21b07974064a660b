"""The agent's settings: one frozen dataclass, checked when it is built."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_MQTT_PORT = 1883


class SettingsError(ValueError):
    """A command-line value the agent cannot run with."""


@dataclass(frozen=True)
class Output:
    """Where the audio goes: ``device``, ``null`` or ``file`` (with its directory)."""

    kind: str
    directory: Path | None = None


@dataclass(frozen=True)
class Settings:
    server: str  # base URL of the scheduler, without a trailing slash
    station: str
    token: str
    mqtt_host: str
    mqtt_port: int
    output: Output
    state_dir: Path
    late_grace_s: float = 5.0
    heartbeat_s: float = 30.0
    clock_interval_s: float = 300.0
    resend_after_s: float = 30.0
    cache_max_bytes: int = 2048 * 1024 * 1024
    preroll_s: float = 2.0

    @property
    def database(self) -> Path:
        return database_path(self.state_dir)

    @property
    def cache_dir(self) -> Path:
        return self.state_dir / "media"


def database_path(state_dir: Path) -> Path:
    """Return the agent's SQLite database inside a state directory."""
    return state_dir / "agent.sqlite3"


def parse_output(spec: str) -> Output:
    """Parse ``device``, ``null`` or ``file:DIR``."""
    if spec in ("device", "null"):
        return Output(spec)
    if spec.startswith("file:") and len(spec) > len("file:"):
        return Output("file", Path(spec[len("file:") :]))
    raise SettingsError(f"--output must be device, null or file:DIR, not {spec!r}")


def parse_server(url: str) -> str:
    """Check the scheduler's base URL and drop any trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"--server must be an http(s) URL, not {url!r}")
    return url.rstrip("/")


def parse_mqtt(url: str | None, *, server: str) -> tuple[str, int]:
    """Return the broker's (host, port): from ``mqtt://H:P``, else the server's host:1883."""
    if url is None:
        host = urlsplit(server).hostname
        assert host is not None  # parse_server checked it
        return host, DEFAULT_MQTT_PORT
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise SettingsError(f"--mqtt must look like mqtt://HOST:PORT, not {url!r}")
    return parts.hostname, parts.port or DEFAULT_MQTT_PORT
