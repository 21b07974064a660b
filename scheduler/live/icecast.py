"""The Icecast 2 that `wardcast serve` runs and supervises for live voice (docs/live.md).

Its configuration is written to the data dir's `icecast/icecast.xml` at every start, with
source and admin passwords made fresh each time (kept in memory only). Every listener is
checked by wardcast first (Icecast's URL authentication, scheduler/live/auth.py); what it
says goes to our log. If it dies it is started again; it dies with the scheduler.
"""

from __future__ import annotations

import grp
import hmac
import logging
import os
import pwd
import re
import secrets
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from scheduler.accesslog import RedactSecrets
from scheduler.broker.supervisor import BrokerStartError, Supervised
from scheduler.config import Settings
from wardcast.protocol import API

log = logging.getLogger(__name__)
OUTPUT = logging.getLogger("wardcast.icecast")
OUTPUT.addFilter(RedactSecrets())  # it names the check's address, with the key, on failures

SEARCH = ("/usr/bin/icecast2", "/usr/local/bin/icecast2")
START_TIMEOUT_S = 15.0
AUTH_PATH = f"{API}/live/auth"
AUTH_HEADER = "icecast-auth-user: 1"  # what Icecast 2.4 reads in the answer to let one in
SCHEDULER_USER = "wardcast"  # the scheduler's own login to listen (for checks): the key
# A listener that falls this far behind is dropped (it reconnects at the live edge): about
# 10 s of 48 kbit/s Opus. Live speech heard 10 s late is worse than speech heard again.
QUEUE_BYTES = 64 * 1024
MAX_LISTENERS = 10_000  # a city's stations on one live session (docs/scaling.md)
MAX_SOURCES = 64  # live sessions at once
WILDCARDS = ("0.0.0.0", "", "::")


def find_icecast(configured: Path | None = None, *,
                 search: Iterable[str] = SEARCH) -> Path | None:
    """Return the Icecast binary to run: the configured one, else on PATH or in /usr/bin."""
    if configured is not None:
        return configured if configured.is_file() and os.access(configured, os.X_OK) else None
    found = shutil.which("icecast2") or shutil.which("icecast")
    if found:
        return Path(found)
    return next((Path(p) for p in search if os.access(p, os.X_OK)), None)


def reachable(host: str) -> str:
    """Where this machine reaches a listener bound to host: a wildcard answers on loopback."""
    return "127.0.0.1" if host in WILDCARDS else host


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def api_address(host: str, port: int, *, tls: bool) -> str:
    """Where a process on this machine reaches an API bound to host:port."""
    return f"{'https' if tls else 'http'}://{_netloc(reachable(host), port)}"


@dataclass(frozen=True)
class LiveServer:
    """The streaming server: where live audio goes in and where agents hear it."""

    source_host: str
    source_port: int
    source_password: str = field(repr=False)
    listen_base: str  # http(s)://host:port, what agents reach
    key: str = field(repr=False)  # Icecast's listener checks carry it; the scheduler's login

    def source_url(self, mount: str) -> str:
        """The address the scheduler's own ffmpeg sends a mount's audio to."""
        password = quote(self.source_password, safe="")
        return (f"icecast://source:{password}@{_netloc(self.source_host, self.source_port)}"
                f"/{mount.lstrip('/')}")

    def listen_url(self, mount: str) -> str:
        """The address agents are sent for a mount, without credentials."""
        return f"{self.listen_base}/{mount.lstrip('/')}"

    def key_matches(self, key: str) -> bool:
        return hmac.compare_digest(key.encode(), self.key.encode())


@dataclass(frozen=True)
class IcecastSetup:
    """The Icecast wardcast runs: its folder, its listener and its secrets."""

    folder: Path
    host: str
    port: int
    auth_url: str = field(repr=False)  # listener_add: wardcast's check, with the key
    source_password: str = field(repr=False)
    admin_password: str = field(repr=False)
    run_as: tuple[str, str] | None = None  # (user, group) when started as root
    hostname: str = "127.0.0.1"  # how listeners name it (in its playlists, to the check)

    @property
    def config(self) -> Path:
        return self.folder / "icecast.xml"

    def write(self) -> None:
        """Write the configuration (0600 in a 0700 folder: it holds the passwords).

        As root Icecast reads it before it changes owner and writes nothing afterwards (its
        logs go to its output), so nothing here needs to be open to that user."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        (self.folder / "web").mkdir(exist_ok=True)  # it serves no files: an empty root
        descriptor = os.open(self.config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            ET.ElementTree(self.xml()).write(handle, encoding="utf-8", xml_declaration=True)

    def xml(self) -> ET.Element:
        root = ET.Element("icecast")
        _texts(root, location="wardcast", admin="wardcast", hostname=self.hostname,
               fileserve="0")
        _texts(ET.SubElement(root, "limits"), clients=str(MAX_LISTENERS),
               sources=str(MAX_SOURCES), **{"queue-size": str(QUEUE_BYTES),
                                             "client-timeout": "30", "header-timeout": "15",
                                             "source-timeout": "10", "burst-on-connect": "0",
                                             "burst-size": "0"})
        _texts(ET.SubElement(root, "authentication"),
               **{"source-password": self.source_password, "admin-user": "admin",
                  "admin-password": self.admin_password})
        _texts(ET.SubElement(root, "listen-socket"), port=str(self.port),
               **{"bind-address": self.host})
        root.append(self._default_mount())
        _texts(ET.SubElement(root, "paths"), basedir=str(self.folder),
               logdir=str(self.folder), webroot=str(self.folder / "web"))
        # both logs to its output, which the supervisor forwards to ours (access lines: DEBUG)
        _texts(ET.SubElement(root, "logging"), errorlog="-", accesslog="-", loglevel="2")
        security = ET.SubElement(root, "security")
        _texts(security, chroot="0")
        if self.run_as is not None:
            _texts(ET.SubElement(security, "changeowner"), user=self.run_as[0],
                   group=self.run_as[1])
        return root

    def _default_mount(self) -> ET.Element:
        """Every mount: no burst (live: no backlog for a new listener), wardcast's check."""
        mount = ET.Element("mount", type="default")
        _texts(mount, **{"burst-size": "0"})
        auth = ET.SubElement(mount, "authentication", type="url")
        for name, value in (("listener_add", self.auth_url), ("auth_header", AUTH_HEADER)):
            ET.SubElement(auth, "option", name=name, value=value)
        return mount


def _texts(parent: ET.Element, **children: str) -> None:
    for tag, text in children.items():
        ET.SubElement(parent, tag).text = text


def run_as() -> tuple[str, str] | None:
    """Who Icecast becomes when started as root (it refuses to run as root): nobody."""
    if os.getuid() != 0:  # Icecast checks the real user id
        return None
    try:
        group = grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
    except KeyError:
        group = "nogroup"
    return ("nobody", group)


_ACCESS_LINE = re.compile(r"^\S+ - \S+ \[")  # 127.0.0.1 - 12 [08/Dec/2026:01:02:25 +0000] "GET
_LEVELS = {"EROR": logging.ERROR, "WARN": logging.WARNING, "INFO": logging.INFO}
# Warnings that need nobody: files are not served on purpose (said at every start), and so a
# listener early for a mount not yet on air (an agent before the speaker) finds no file.
QUIET = ("serving of static files has been disabled", "fserve/fserve_client_create req for file")


def line_level(line: str) -> int:
    """The level of a line Icecast wrote: its error log's own, DEBUG for its access log."""
    if line.startswith("["):  # [2026-12-08  01:02:24] WARN source/get_next_buffer ...
        if any(words in line for words in QUIET):
            return logging.INFO
        return _LEVELS.get(line.partition("] ")[2][:4], logging.DEBUG)
    if _ACCESS_LINE.match(line):
        return logging.DEBUG
    if line.startswith("Changed "):  # Changed groupid to 65534. (as root)
        return logging.INFO
    lowered = line.lower()
    return logging.ERROR if "error" in lowered or "fatal" in lowered else logging.WARNING


# As root, Icecast switches to `nobody` itself, and a process that changes its user loses the
# signal it was to get when its parent dies (prctl PR_SET_PDEATHSIG): killed with SIGKILL,
# the scheduler would leave it running (holding its port, refusing everyone). So as root a
# shell that stays root is its parent: it gets that signal and stops Icecast, and otherwise
# ends as Icecast ends (the supervisor then starts both again).
GUARD = ('trap \'stopping=1; kill -TERM "$child"\' TERM INT HUP; "$@" & child=$!; '
         'wait "$child"; code=$?; '
         'if [ -n "$stopping" ]; then wait "$child"; code=$?; fi; exit "$code"')


def command(setup: IcecastSetup, binary: Path) -> list[str]:
    """How to start it: itself, or under the guard above when it is to change its user."""
    argv = [str(binary), "-c", str(setup.config)]
    if setup.run_as is None:
        return argv
    return [shutil.which("sh") or "/bin/sh", "-c", GUARD, "icecast-guard", *argv]


def start_icecast(setup: IcecastSetup, binary: Path) -> Supervised:
    """Write its configuration, start it, and return it once it listens."""
    setup.write()
    icecast = Supervised(command(setup, binary), name="icecast",
                         ready=[(reachable(setup.host), setup.port)],
                         output=OUTPUT, levels=line_level)
    icecast.start(timeout=START_TIMEOUT_S)
    return icecast


def start_live(settings: Settings, api_url: str | None,
               stack: AsyncExitStack | ExitStack) -> LiveServer | None:
    """Start the streaming server wardcast runs (or name the one it uses); None: no live."""
    if not settings.live:
        log.info("live voice: off (WARDCAST_LIVE)")
        return None
    if settings.icecast_url and settings.icecast_source_password:
        return external(settings.icecast_url, settings.icecast_source_password
                        .get_secret_value(), settings.live_url)
    binary = find_icecast(settings.icecast_binary)
    if binary is None:
        log.warning("live voice unavailable: no icecast2 binary at %s (apt-get install "
                    "icecast2, or set WARDCAST_ICECAST_BINARY)",
                    settings.icecast_binary or "PATH, /usr/bin or /usr/local/bin")
        return None
    if api_url is None:
        log.info("live voice unavailable: this app is not run by `wardcast serve`, so Icecast "
                 "has no address to check listeners at")
        return None
    key, source_password = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    host = reachable(settings.live_host)
    setup = IcecastSetup(folder=settings.data_dir / "icecast", host=settings.live_host,
                         port=settings.live_port, auth_url=f"{api_url}{AUTH_PATH}?key={key}",
                         source_password=source_password,
                         admin_password=secrets.token_urlsafe(24), run_as=run_as(),
                         hostname=urlsplit(settings.live_url or "").hostname or host)
    try:
        icecast = start_icecast(setup, binary)
    except (BrokerStartError, OSError) as exc:
        log.error("live voice unavailable: %s", exc)
        return None
    stack.callback(icecast.stop)
    log.info("live voice: icecast (%s) on %s:%s", binary, settings.live_host,
             settings.live_port)
    local = f"http://{_netloc(host, settings.live_port)}"
    return LiveServer(source_host=host, source_port=settings.live_port,
                      source_password=source_password, listen_base=settings.live_url or local,
                      key=key)


def external(url: str, source_password: str, live_url: str | None) -> LiveServer:
    """An Icecast someone else runs; its listener check is wardcast's, keyed by the source
    password (docs/live.md)."""
    parts = urlsplit(url)
    return LiveServer(source_host=parts.hostname or "127.0.0.1", source_port=parts.port or 80,
                      source_password=source_password, listen_base=live_url or url,
                      key=source_password)
