"""The ``wardcast simulate`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path

import httpx

from agents.config import SettingsError, parse_mqtt, parse_server
from simulate.register import RegistrationError
from simulate.runner import SimConfig, run

log = logging.getLogger("simulate")

PASSWORD_ENV = "WARDCAST_SIMULATE_PASSWORD"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's options to a parser."""
    parser.add_argument("--server", required=True, help="scheduler base URL, http://H:P")
    parser.add_argument("--stations", type=int, required=True, metavar="N",
                        help="how many stations to simulate")
    parser.add_argument("--username", required=True, help="an admin user of the scheduler")
    parser.add_argument("--password", default=os.environ.get(PASSWORD_ENV),
                        help=f"its password (default: ${PASSWORD_ENV})")
    parser.add_argument("--mqtt", default=None,
                        help="broker, mqtt://H:P (default: the server's host, port 1883)")
    parser.add_argument("--prefix", default="SIM",
                        help="station names are PREFIX-0001 … (default SIM); also their ward")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="shared media cache (default ./wardcast-simulate-PREFIX)")
    parser.add_argument("--connect-limit", type=int, default=100, metavar="N",
                        help="MQTT handshakes in flight at once (default 100)")
    parser.add_argument("--summary", type=float, default=10.0, metavar="SECONDS",
                        help="log a summary line this often (default 10)")
    parser.add_argument("--heartbeat", type=float, default=30.0, metavar="SECONDS",
                        help="each station's status republish interval (default 30)")
    parser.add_argument("--own-media", action="store_true",
                        help="each station downloads its own copy of the media, as radio PCs "
                             "do (default: one shared download for all)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="the simulator's own log level; the stations log warnings only")


def config_from(args: argparse.Namespace) -> SimConfig:
    """Build a checked configuration from parsed arguments."""
    if args.stations < 1:
        raise SettingsError("Số trạm phải từ 1 trở lên — --stations must be at least 1")
    if not args.password:
        raise SettingsError(f"Thiếu mật khẩu — a password is needed: --password or "
                            f"${PASSWORD_ENV}")
    if args.connect_limit < 1 or args.summary <= 0 or args.heartbeat <= 0:
        raise SettingsError("Giá trị không hợp lệ — --connect-limit must be >= 1, --summary "
                            "and --heartbeat > 0")
    server = parse_server(args.server)
    host, port, tls = parse_mqtt(args.mqtt, server=server)
    if tls:
        raise SettingsError("Trình mô phỏng chỉ dùng MQTT thường — the simulator speaks plain "
                            "MQTT only: use --mqtt mqtt://H:P")
    return SimConfig(server=server, mqtt_host=host, mqtt_port=port, stations=args.stations,
                     username=args.username, password=args.password, prefix=args.prefix,
                     state_dir=args.state_dir or Path(f"wardcast-simulate-{args.prefix}"),
                     connect_limit=args.connect_limit, summary_s=args.summary,
                     heartbeat_s=args.heartbeat, own_media=args.own_media)


def quiet_stations() -> None:
    """Let the stations' agent code log warnings and errors only.

    `wardcast` sets the agent's loggers to --log-level (INFO) for a real agent; here
    thousands of stations each logging every plan would drown the summary and cost the loop
    a formatted line per station per plan.
    """
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("agents").setLevel(logging.WARNING)


def main(args: argparse.Namespace) -> int:
    """Run the simulator until SIGTERM or SIGINT; return the exit code."""
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_stations()
    log.setLevel(args.log_level)
    try:
        return asyncio.run(run(config_from(args)))
    except (SettingsError, RegistrationError) as exc:
        log.error("%s", exc)
        return 2
    except httpx.HTTPError as exc:
        log.error("Không kết nối được máy chủ — cannot reach the scheduler at %s: %r",
                  args.server, exc)
        return 1
