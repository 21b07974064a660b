"""The `wardcast` command. Each subcommand imports only what it needs, so the agent stays light."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from scheduler.app import create_app
    from scheduler.config import get_settings
    from scheduler.http_timeouts import slow_client_protocol
    from scheduler.live.icecast import api_address

    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        print("error: --ssl-certfile and --ssl-keyfile go together", file=sys.stderr)  # noqa: T201
        return 2
    settings = get_settings()
    protocol = slow_client_protocol(header_timeout_s=settings.http_header_timeout_s,
                                    body_timeout_s=settings.http_body_timeout_s)
    api_url = api_address(args.host, args.port, tls=bool(args.ssl_certfile))
    # proxy_headers=False: uvicorn would take X-Forwarded-For from any local peer (its default
    # FORWARDED_ALLOW_IPS is 127.0.0.1); the app believes only WARDCAST_TRUSTED_PROXIES
    server = settled_server(uvicorn.Config(
        create_app(settings, api_url=api_url), host=args.host, port=args.port, http=protocol,
        log_level=args.log_level.lower(), ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile, proxy_headers=False))
    server.run()
    return 0 if server.started else 3  # 3: uvicorn's own code for a failed start-up


# The cyclic collector's thresholds for `wardcast serve`, after start-up is frozen: a young
# collection every 50,000 allocations, not every 700. An emergency to 10,000 stations makes
# 10,000 playbacks and then 10,000 plans (tens of objects each, freed by reference counting);
# at the default the collector ran hundreds of times through them, and its full passes stop
# every thread of the scheduler (docs/benchmarks.md, "Before and after issue 16").
COLLECTOR_THRESHOLDS = (50_000, 10, 10)


def settled_server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn's server, which sets the process's collector policy once the app has started.

    What start-up built (the app, its routes, SQLAlchemy's and pydantic's tables, the broker
    link) lives as long as the process: it is collected once and frozen, out of the cyclic
    collector's full passes (which had walked it during pushes of many plans, with every
    thread of the scheduler stopped). Only `wardcast serve` does this: an app started in a
    longer process (tests) leaves that process's collector alone.
    """
    import gc

    import uvicorn

    class Settled(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            gc.collect()
            gc.freeze()
            gc.set_threshold(*COLLECTOR_THRESHOLDS)

    return Settled(config)


def _users_create(args: argparse.Namespace) -> int:
    from scheduler.audit import service as audit
    from scheduler.config import get_settings
    from scheduler.db import Database
    from scheduler.errors import DomainError
    from scheduler.migrations import upgrade
    from scheduler.users import service
    from wardcast.private import private_dir

    settings = get_settings()
    private_dir(settings.data_dir)
    db = Database(settings.sqlalchemy_url)
    upgrade(db.engine)
    try:
        with db.session() as session:
            user = service.create_user(session=session, username=args.username,
                                       password=args.password, role=args.role,
                                       wards=args.ward or ())
            audit.record(session=session, actor=audit.CLI, action="user.create",
                         target_type="user", target_id=user.id, username=user.username,
                         role=user.role, wards=args.ward or [])
            print(f"created user {user.username} ({user.role})")  # noqa: T201
    except DomainError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    finally:
        db.dispose()
    return 0


def _db_upgrade(_args: argparse.Namespace) -> int:
    from scheduler.config import get_settings
    from scheduler.db import Database
    from scheduler.migrations import upgrade
    from wardcast.private import private_dir

    settings = get_settings()
    private_dir(settings.data_dir)
    db = Database(settings.sqlalchemy_url)
    upgrade(db.engine)
    db.dispose()
    return 0


def _report_activity(args: argparse.Namespace) -> int:
    from scheduler.reports.command import main

    return main(args)


def _report_keep(args: argparse.Namespace) -> int:
    from scheduler.reports.command import keep

    return keep(args)


def _agent(args: argparse.Namespace) -> int:
    from agents.station import main

    return int(main(args))


def _agent_log(args: argparse.Namespace) -> int:
    from agents.store import log_main

    return int(log_main(args))


def _simulate(args: argparse.Namespace) -> int:
    from simulate.cli import main

    return int(main(args))


def _demo(args: argparse.Namespace) -> int:
    from scheduler.demo import run_demo

    return int(run_demo(args))


def _add_agent(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from agents.config import add_arguments, add_log_arguments

    parser = sub.add_parser("agent", help="run one ward agent")
    add_arguments(parser)
    parser.set_defaults(func=_agent)
    log = sub.add_parser("agent-log", help="print an agent's local event log (proof of play)")
    add_log_arguments(log)
    log.set_defaults(func=_agent_log)
    from simulate.cli import add_arguments as add_simulate_arguments

    simulate = sub.add_parser("simulate", help="run many simulated stations in one process")
    add_simulate_arguments(simulate)
    simulate.set_defaults(func=_simulate)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="wardcast", description=__doc__)
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING …")
    parser.add_argument("--library-log-level", default="WARNING", metavar="LEVEL",
                        help="the level of the libraries' own logs (amqtt, Alembic, "
                             "APScheduler …); default WARNING")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the central scheduler (API, broker, jobs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--ssl-certfile", metavar="PEM",
                       help="serve HTTPS with this certificate (chain) file; needs --ssl-keyfile")
    serve.add_argument("--ssl-keyfile", metavar="PEM", help="the certificate's private key")
    serve.set_defaults(func=_serve)

    users = sub.add_parser("users", help="manage users").add_subparsers(dest="action",
                                                                         required=True)
    create = users.add_parser("create", help="create a user")
    create.add_argument("--username", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--role", required=True, choices=["admin", "editor", "approver",
                                                          "viewer"])
    create.add_argument("--ward", action="append",
                        help="limit the user to this ward (repeat for several)")
    create.set_defaults(func=_users_create)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="action",
                                                                          required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=_db_upgrade)

    report = sub.add_parser("report", help="write reports").add_subparsers(dest="action",
                                                                           required=True)
    activity = report.add_parser("activity", help="the activity report of a period, to a file")
    from scheduler.reports.command import add_arguments as add_report_arguments

    add_report_arguments(activity)
    activity.set_defaults(func=_report_activity)
    report.add_parser("keep", help="keep the report tallies of past months now (the daily "
                                   "job does it too)").set_defaults(func=_report_keep)

    _add_agent(sub)

    demo = sub.add_parser("demo", help="run everything on this machine with sample stations")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--mqtt-port", type=int, default=1883)
    demo.add_argument("--stations", type=int, default=3)
    demo.add_argument("--dir", default="./wardcast-demo")
    demo.add_argument("--lead-seconds", type=float, default=60.0,
                      help="how far ahead the sample bulletin is scheduled")
    demo.set_defaults(func=_demo)
    return parser


# Our own loggers follow --log-level; every library's stays at --library-log-level (WARNING):
# amqtt's state machine alone wrote 11,000 INFO lines in three minutes at 1,000 stations, and
# `users create` printed Alembic's plugin list.
OUR_LOGGERS = ("wardcast", "scheduler", "agents", "simulate", "media", "bench")


def configure_logging(level: str, library_level: str = "WARNING") -> None:
    """Log ours at level and everything else at library_level, one format for both."""
    logging.basicConfig(level=library_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(level.upper())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the wardcast command line."""
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, args.library_log_level)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    raise SystemExit(main())
