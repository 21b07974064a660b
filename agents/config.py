"""The agent's settings: one frozen dataclass, checked when it is built."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

DEFAULT_MQTT_PORT = 1883
DEFAULT_MQTTS_PORT = 8883


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
    # MQTT over TLS (mqtts://). Both TLS links (MQTT and HTTPS) verify the server against
    # ca_file when given, else against the system's trust store; never without verification.
    mqtt_tls: bool = False
    ca_file: Path | None = None
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

    @property
    def mqtt_url(self) -> str:
        """The broker as a URL, for log lines."""
        scheme = "mqtts" if self.mqtt_tls else "mqtt"
        return f"{scheme}://{self.mqtt_host}:{self.mqtt_port}"

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context that verifies certificate chain and host name."""
        return client_ssl_context(self.ca_file)


def database_path(state_dir: Path) -> Path:
    """Return the agent's SQLite database inside a state directory."""
    return state_dir / "agent.sqlite3"


def read_token_file(path: Path) -> str:
    """Return the token in a file (its first line), warning when others may read the file."""
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read the token file {path}: {exc}") from exc
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not token:
        raise SettingsError(f"the token file {path} is empty")
    if mode & 0o077:
        log.warning("the token file %s can be read by other users (mode %o): chmod 600 %s",
                    path, mode & 0o777, path)
    return token


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


def parse_mqtt(url: str | None, *, server: str, ca_file: Path | None = None
               ) -> tuple[str, int, bool]:
    """Return the broker's (host, port, tls) from ``mqtt://H:P`` or ``mqtts://H:P``.

    Without a URL: the server's host, over TLS on 8883 when the server is https:// or a CA
    file is given, else plain on 1883. With a CA file only TLS is accepted: the operator
    asked for verified links, so a plain one (which would send the token in clear) is refused.
    """
    tls_wanted = ca_file is not None or urlsplit(server).scheme == "https"
    if url is None:
        host = urlsplit(server).hostname
        assert host is not None  # parse_server checked it
        return host, DEFAULT_MQTTS_PORT if tls_wanted else DEFAULT_MQTT_PORT, tls_wanted
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise SettingsError(f"--mqtt must look like mqtt://HOST:PORT or mqtts://HOST:PORT, "
                            f"not {url!r}")
    tls = parts.scheme == "mqtts"
    if ca_file is not None and not tls:
        raise SettingsError(f"--ca-file is given but --mqtt {url} is not TLS: use mqtts://")
    try:
        port = parts.port
    except ValueError as exc:
        raise SettingsError(f"--mqtt has a bad port: {url!r}") from exc
    return parts.hostname, port or (DEFAULT_MQTTS_PORT if tls else DEFAULT_MQTT_PORT), tls


def parse_ca_file(path: Path | None, *, server: str) -> Path | None:
    """Check that a CA file holds certificates we can load; it needs an https:// server."""
    if path is None:
        return None
    if urlsplit(server).scheme != "https":
        raise SettingsError(f"--ca-file is given but --server {server} is not https://")
    try:
        client_ssl_context(path)
    except (OSError, ssl.SSLError) as exc:
        raise SettingsError(f"--ca-file {path}: cannot load CA certificates ({exc})") from exc
    return path


def client_ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """Return a TLS client context trusting ca_file, or the system's trust store without it.

    ``ssl.create_default_context`` requires a valid chain and checks the host name (DNS or
    IP subjectAltName); nothing here turns either off.
    """
    if ca_file is None:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=str(ca_file))


def tls_verify_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """Return the certificate verification error behind an exception (httpx wraps it)."""
    seen: BaseException | None = exc
    for _ in range(10):  # the chain is short; a bound guards against cycles
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
