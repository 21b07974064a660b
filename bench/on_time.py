"""Benchmark 1: on-time start across a fleet for one slot they all share.

    python -m bench.on_time [--stations 1000] [--lead 60] [--install I] [--quick]

A real stack (``--install production``: Mosquitto, PostgreSQL, ``wardcast serve``;
``default``: ``wardcast serve`` with its own Mosquitto and SQLite; ``amqtt``: without a
mosquitto binary) and one ``wardcast simulate`` process with N stations. One timetable puts
every station on the same slot ``--lead`` seconds ahead; the figures are
|started_at − scheduled_at| from the ledger, as the stations reported them (the wire carries
milliseconds). The baseline, in the same run: N bare asyncio timers in this process waiting
for one instant with the agent's own ``sleep_until``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

from agents.fetch import sleep_until
from bench.harness import (
    FINAL,
    INSTALLS,
    fleet,
    instant,
    percentiles,
    print_figures,
    speech_clip,
    stack,
    upload_approved,
    wait_rows,
    workdir,
)
from wardcast.protocol import to_wire, utcnow

TEXT = "Thông báo lịch cắt điện ngày mai. Đề nghị bà con chú ý."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.on_time", description=__doc__)
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--lead", type=float, default=60.0,
                        help="seconds from the timetable to the shared slot (default 60)")
    parser.add_argument("--install", choices=INSTALLS, default="production",
                        help="what the scheduler runs on (default production)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 20 stations, 15 s lead (unless given)")
    args = parser.parse_args(argv)
    if args.quick:
        args.stations = 20 if args.stations == 1000 else args.stations
        args.lead = 15.0 if args.lead == 60.0 else args.lead
    work = workdir("on-time")
    with stack(work, install=args.install, missed_grace_s="30",
               watchdog_interval_s="1") as running:
        api = running.api()
        bulletin = upload_approved(api, speech_clip(work, TEXT), "Lịch cắt điện")
        with fleet(running, stations=args.stations) as sim:
            slot = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=args.lead)
            made = api.post("/timetables", json={"bulletin_id": bulletin["id"],
                                                 "station_ids": sim.station_ids,
                                                 "starts_at": to_wire(slot)})
            made.raise_for_status()
            rows = wait_rows(api, bulletin["id"], expected=args.stations, statuses=FINAL,
                             timeout=args.lead + bulletin["duration_ms"] / 1000 + 300)
        own_view = " | ".join(sim.summaries())
    statuses = Counter(str(r["status"]) for r in rows)
    errors = [abs((instant(r["started_at"]) - instant(r["scheduled_at"])).total_seconds())
              for r in rows if r["started_at"]]
    floor = asyncio.run(_bare_timers(args.stations))
    ours, base = percentiles(errors or [float("nan")]), percentiles(floor)
    # The ledger carries milliseconds; the simulator measures its own starts in microseconds.
    found = re.search(r"p99 ([0-9.]+) ms", own_view)
    own_p99 = float(found.group(1)) / 1000 if found else float("nan")
    print_figures(f"Benchmark 1 — on-time start, {args.stations} stations, one shared slot "
                  f"({args.install} install)", [
        ("stations registered, connected, plans synced in", f"{sim.connect_s:.1f} s"),
        ("playbacks by status", ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))),
        ("|start − slot| from the ledger, p50 / p99 / max", _triple(ours)),
        ("baseline: bare timers p50 / p99 / max", _triple(base)),
        ("ratio p99 (simulator's own µs figure / bare timers)", _ratio(own_p99, base["p99"])),
        ("simulator's own summary", own_view),
    ])
    return 0 if statuses == Counter(played=args.stations) else 1


async def _bare_timers(count: int) -> list[float]:
    """Return |wake − instant| of count tasks all sleeping until one instant 2 s ahead."""
    target = utcnow() + timedelta(seconds=2)

    async def one() -> float:
        await sleep_until(target)
        return abs((utcnow() - target).total_seconds())

    return list(await asyncio.gather(*(one() for _ in range(count))))


def _triple(figures: dict[str, float]) -> str:
    return " / ".join(f"{figures[k] * 1000:.1f}" for k in ("p50", "p99", "max")) + " ms"


def _ratio(ours: float, base: float) -> str:
    return f"{ours / base:.1f}×" if base > 0 else "— (baseline 0)"


if __name__ == "__main__":
    sys.exit(main())
