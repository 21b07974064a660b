"""The agent's settings: its command line, read into one frozen dataclass, checked as it is
built; and the backends ``--output`` names, where the paced samples go (s16le, mono, 48 kHz).

The player paces every backend in real time; a backend only has to take the samples: its
``open`` is called ahead of the slot (so a device process can start), the sink's ``start``
at the instant the first sample is written. A sink is named ``pb<playback id>`` for a plan
item, ``test-tone_<command id>`` for a test tone.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import ssl
import wave
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

from media.decode import SAMPLE_RATE

log = logging.getLogger(__name__)

TOKEN_ENV = "WARDCAST_AGENT_TOKEN"
CA_FILE_ENV = "WARDCAST_AGENT_CA_FILE"

CHANNELS = 1
SAMPLE_BYTES = 2  # signed 16-bit little-endian
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


class Sink(Protocol):
    """One playback's destination."""

    def start(self, at: datetime) -> None: ...
    async def write(self, pcm: bytes) -> None: ...
    async def close(self) -> None: ...


class Backend(Protocol):
    """Makes one sink per playback."""

    async def open(self, name: str) -> Sink: ...


def make_backend(spec: OutputSpec) -> Backend:
    """Build the backend an --output value names."""
    if spec.kind == "file":
        assert spec.directory is not None
        return FileBackend(spec.directory)
    return DeviceBackend() if spec.kind == "device" else NullBackend()


class NullSink:
    """Discards the samples (the player still paces them)."""

    def start(self, at: datetime) -> None:
        """Nothing to prepare."""

    async def write(self, pcm: bytes) -> None:
        """Drop the samples."""

    async def close(self) -> None:
        """Nothing to release."""


class NullBackend:
    async def open(self, name: str) -> Sink:
        """Return a sink that discards."""
        return NullSink()


def wav_name(name: str, at: datetime) -> str:
    """Name a WAV file by its sink's name and start instant (UTC)."""
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")[:-3]
    return f"{name}_{stamp}Z.wav"


class FileSink:
    """Writes exactly the played samples into one WAV file, whole on disk after each write.

    After every write the RIFF and data sizes are patched and the file is flushed to the OS,
    so a SIGKILL mid-playback leaves a valid WAV of what was played (audits count on it).
    """

    def __init__(self, directory: Path, name: str) -> None:
        self._directory = directory
        self._name = name
        self._file: BinaryIO | None = None
        self._wav: wave.Wave_write | None = None
        self.path: Path | None = None

    def start(self, at: datetime) -> None:
        """Create the WAV file under its final name."""
        self.path = self._directory / wav_name(self._name, at)
        self._file = self.path.open("wb")
        self._wav = wave.open(self._file, "wb")
        self._wav.setnchannels(CHANNELS)
        self._wav.setsampwidth(SAMPLE_BYTES)
        self._wav.setframerate(SAMPLE_RATE)

    async def write(self, pcm: bytes) -> None:
        """Append samples, patch the header sizes and hand it all to the OS."""
        assert self._wav is not None and self._file is not None, "start() first"
        self._wav.writeframes(pcm)  # writeframes patches the sizes when they changed
        self._file.flush()

    async def close(self) -> None:
        """Finish the header and close the file."""
        if self._wav is not None:
            self._wav.close()  # does not close a file object it was given
            self._wav = None
        if self._file is not None:
            self._file.close()
            self._file = None


class FileBackend:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._directory = directory

    async def open(self, name: str) -> Sink:
        """Return a sink that writes a WAV into the directory."""
        return FileSink(self._directory, name)


class DeviceSink:
    """Pipes samples into aplay (or ffplay), which plays them on the default sound card."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    def start(self, at: datetime) -> None:
        """The process is already running."""

    async def write(self, pcm: bytes) -> None:
        """Hand samples to the player process."""
        assert self._process.stdin is not None
        self._process.stdin.write(pcm)
        await self._process.stdin.drain()

    async def close(self) -> None:
        """Close the pipe and let the player finish what it buffered."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), 5)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()


class DeviceBackend:
    def __init__(self) -> None:
        """Take a player that reads s16le mono 48 kHz PCM on stdin: aplay, else ffplay."""
        if shutil.which("aplay"):
            self._argv = ["aplay", "-q", "-f", "S16_LE", "-r", str(SAMPLE_RATE),
                          "-c", str(CHANNELS)]
        elif shutil.which("ffplay"):
            self._argv = ["ffplay", "-nodisp", "-autoexit", "-loglevel", "error", "-f", "s16le",
                          "-ar", str(SAMPLE_RATE), "-ac", str(CHANNELS), "-i", "-"]
        else:
            raise SettingsError("--output device needs aplay or ffplay; neither is installed")

    async def open(self, name: str) -> Sink:
        """Start the player process ahead of the slot."""
        process = await asyncio.create_subprocess_exec(
            *self._argv, stdin=asyncio.subprocess.PIPE)
        return DeviceSink(process)
