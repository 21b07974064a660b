"""The ``wardcast agent`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from agents.config import (
    Settings,
    SettingsError,
    database_path,
    parse_ca_file,
    parse_mqtt,
    parse_output,
    parse_server,
    read_token_file,
)
from agents.eventlog import EventLogUnavailable, read_event_log, write_csv, write_json
from agents.runner import run

log = logging.getLogger("agents")

TOKEN_ENV = "WARDCAST_AGENT_TOKEN"
CA_FILE_ENV = "WARDCAST_AGENT_CA_FILE"


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


def main(args: argparse.Namespace) -> int:
    """Run the agent until SIGTERM or SIGINT; return the exit code."""
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.log_level != "DEBUG":  # one line per HTTP request is too chatty
        logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return asyncio.run(run(settings_from(args)))
    except SettingsError as exc:
        log.error("%s", exc)
        return 2


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
