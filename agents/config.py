"""The agent's settings: its command line, read into one frozen dataclass, checked as it is
built; and ``wardcast agent-log``, which prints the local event log (the proof of play).

The log is read through a separate read-only connection: WAL lets it see every committed
event without blocking, or being blocked by, the agent writing.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sqlite3
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import quote, urlsplit

from agents.store import EVENT_LOG_COLUMNS
from wardcast.csvcells import safe_row

log = logging.getLogger(__name__)

TOKEN_ENV = "WARDCAST_AGENT_TOKEN"
CA_FILE_ENV = "WARDCAST_AGENT_CA_FILE"

DEFAULT_MQTT_PORT = 1883
DEFAULT_MQTTS_PORT = 8883


class SettingsError(ValueError):
    """A command-line value the agent cannot run with."""


@dataclass(frozen=True)
class OutputSpec:
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
    output: OutputSpec
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


def parse_output(spec: str) -> OutputSpec:
    """Parse ``device``, ``null`` or ``file:DIR``."""
    if spec in ("device", "null"):
        return OutputSpec(spec)
    if spec.startswith("file:") and len(spec) > len("file:"):
        return OutputSpec("file", Path(spec[len("file:") :]))
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the agent's options to a parser."""
    parser.add_argument("--server", required=True,
                        help="scheduler base URL, https://H:P (or http://H:P)")
    parser.add_argument("--station", required=True, help="station id (MQTT username)")
    token = parser.add_mutually_exclusive_group()
    token.add_argument("--token-file", type=Path, metavar="FILE",
                       help="read the station token from this file (readable by this user "
                            "only); best, with the environment variable")
    token.add_argument("--token", default=None,
                       help=f"station token (default: ${TOKEN_ENV}); on the command line it "
                            "is visible to every user of this PC in `ps`: prefer --token-file "
                            f"or ${TOKEN_ENV}")
    parser.add_argument("--mqtt", default=None,
                        help="broker, mqtts://H:P (TLS, port 8883 by default) or mqtt://H:P "
                             "(default: the server's host; mqtts on 8883 when the server is "
                             "https:// or --ca-file is given, else mqtt on 1883)")
    parser.add_argument("--ca-file", type=Path,
                        default=Path(os.environ[CA_FILE_ENV]) if os.environ.get(CA_FILE_ENV)
                        else None, metavar="PATH",
                        help="PEM file of the CA that signed the scheduler's and the broker's "
                             "certificates; both links are then TLS and verified against it "
                             f"(default: ${CA_FILE_ENV}; without it, the system's trust store)")
    parser.add_argument("--output", default="device", help="device | null | file:DIR")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="plan, outbox and media cache (default ./wardcast-agent-STATION)")
    parser.add_argument("--late-grace", type=float, default=5.0, metavar="SECONDS",
                        help="start an item this late at most, else skip it (default 5)")
    parser.add_argument("--heartbeat", type=float, default=30.0, metavar="SECONDS",
                        help="status republish interval (default 30)")
    parser.add_argument("--clock-interval", type=float, default=300.0, metavar="SECONDS",
                        help="clock offset measurement interval (default 300)")
    parser.add_argument("--resend-after", type=float, default=30.0, metavar="SECONDS",
                        help="re-publish events the scheduler has not confirmed this long "
                             "after the broker took them (default 30)")
    parser.add_argument("--cache-max-mb", type=float, default=2048.0, metavar="MB",
                        help="media cache cap; least recently used files the plan does not "
                             "need are evicted above it (default 2048)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def add_log_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of the local event log command (``wardcast agent-log``)."""
    parser.add_argument("--state-dir", type=Path, required=True,
                        help="the agent's state directory")
    parser.add_argument("--format", choices=["csv", "json"], default="csv",
                        help="output format (default csv)")


def station_token(args: argparse.Namespace) -> str:
    """Return the token: from --token-file, --token (said to be unwise) or $TOKEN_ENV."""
    if args.token_file is not None:
        return read_token_file(args.token_file)
    if args.token:
        log.warning("the station token was given with --token: every user of this PC can "
                    "read it in the process list (ps); use --token-file FILE or $%s",
                    TOKEN_ENV)
        return str(args.token)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise SettingsError(f"a token is needed: --token-file FILE, ${TOKEN_ENV} or --token")
    return token


def settings_from(args: argparse.Namespace) -> Settings:
    """Build checked settings from parsed arguments."""
    token = station_token(args)
    if args.late_grace < 0 or args.heartbeat <= 0 or args.clock_interval <= 0:
        raise SettingsError("--late-grace must be >= 0, --heartbeat and --clock-interval > 0")
    if args.resend_after <= 0 or args.cache_max_mb < 0:
        raise SettingsError("--resend-after must be > 0 and --cache-max-mb >= 0")
    server = parse_server(args.server)
    ca_file = parse_ca_file(args.ca_file, server=server)
    host, port, tls = parse_mqtt(args.mqtt, server=server, ca_file=ca_file)
    state_dir = args.state_dir or Path(f"wardcast-agent-{args.station}")
    return Settings(server=server, station=args.station, token=token, mqtt_host=host,
                    mqtt_port=port, mqtt_tls=tls, ca_file=ca_file,
                    output=parse_output(args.output), state_dir=state_dir,
                    late_grace_s=args.late_grace, heartbeat_s=args.heartbeat,
                    clock_interval_s=args.clock_interval, resend_after_s=args.resend_after,
                    cache_max_bytes=round(args.cache_max_mb * 1024 * 1024))


def log_main(args: argparse.Namespace) -> int:
    """Print every event the agent ever logged, in creation order; return the exit code."""
    try:
        rows = read_event_log(database_path(args.state_dir))
    except EventLogUnavailable as exc:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        log.error("%s", exc)
        return 1
    (write_json if args.format == "json" else write_csv)(rows, sys.stdout)
    return 0


Row = tuple[object, ...]


class EventLogUnavailable(FileNotFoundError):
    """The state directory holds no agent database, or one without an event log."""


def read_event_log(database: Path) -> list[Row]:
    """Return every logged event in creation order, as EVENT_LOG_COLUMNS tuples."""
    if not database.is_file():
        raise EventLogUnavailable(f"no agent database at {database}")
    db = sqlite3.connect(f"file:{quote(str(database.resolve()))}?mode=ro", uri=True)
    try:
        return db.execute(
            f"SELECT {', '.join(EVENT_LOG_COLUMNS)} FROM events ORDER BY seq"
        ).fetchall()
    except sqlite3.OperationalError as exc:
        raise EventLogUnavailable(f"cannot read the event log in {database}: {exc}") from exc
    finally:
        db.close()


def write_csv(rows: list[Row], out: TextIO) -> None:
    """Write the log as CSV with a header line; empty fields for missing values.

    Text that a spreadsheet would run as a formula (a reason, say) is quoted (csvcells).
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EVENT_LOG_COLUMNS)
    writer.writerows(safe_row(row) for row in rows)


def write_json(rows: list[Row], out: TextIO) -> None:
    """Write the log as one JSON array of objects."""
    json.dump([dict(zip(EVENT_LOG_COLUMNS, row, strict=True)) for row in rows], out,
              ensure_ascii=False, indent=1)
    out.write("\n")
