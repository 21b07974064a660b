"""The scheduler's side of an emergency alone: no station connected, nothing answering.

    python -m bench.push_alone [--stations 1000] [--broadcasts 5] [--install I] [--quick]

A real stack (as bench.fanout: ``production`` is Mosquitto, PostgreSQL and ``wardcast
serve``), N stations registered through the API and none connected. Then, one after another,
each with its own bulletin, ``POST /broadcasts`` to every station as an emergency; for each:
the call's time, the push as the scheduler logged it ("published N plans in X ms"), and the
scheduler's CPU from the call to one second after the push. Beside bench.fanout's figures it
tells the scheduler's own cost from what the stations' answers (events, media requests) add
while it pushes.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.harness import (
    INSTALLS,
    Stack,
    cpu_seconds,
    print_figures,
    speech_clip,
    stack,
    upload_approved,
    workdir,
)

LOGGED_WAIT_S = 30.0  # for the push's log line
SETTLE_S = 4.0  # after an upload: its plans and the previous push drained


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.push_alone", description=__doc__)
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--broadcasts", type=int, default=5)
    parser.add_argument("--install", choices=INSTALLS, default="production",
                        help="what the scheduler runs on (default production)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 100 stations, 2")
    args = parser.parse_args(argv)
    if args.quick:
        args.stations, args.broadcasts = 100, 2
    work = workdir(f"push-alone-{args.stations}")
    with stack(work, install=args.install) as running:
        measured = _measure(running, work, stations=args.stations, count=args.broadcasts)
    pushes = [push for _, push, _ in measured if push is not None]
    print_figures(
        f"The scheduler's push alone — {args.stations} stations, none connected "
        f"({args.install} install)",
        [("POST /broadcasts answered in (each)", _each(call for call, _, _ in measured)),
         ("every plan handed to the broker in (each)",
          _each(push for _, push, _ in measured)),
         ("scheduler CPU, call → push + 1 s (each)", _each(cpu for _, _, cpu in measured)),
         ("push, median", f"{statistics.median(pushes):.0f} ms" if pushes else "n/a")])
    return 0 if len(pushes) == len(measured) else 1


def _measure(running: Stack, work: Path, *, stations: int, count: int
             ) -> list[tuple[float, float | None, float]]:
    """Register the stations, then send count emergencies; return (call, push, CPU) in ms."""
    api = running.api()

    def register(number: int) -> int:
        made = api.post("/stations", json={"name": f"Trạm đo {number}",
                                           "ward": f"Phường {number % 10 + 1}"})
        made.raise_for_status()
        return int(made.json()["id"])

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(register, range(1, stations + 1)))
    log = running.server.workdir / "server.log"
    proc = running.server.proc
    assert proc is not None and proc.popen is not None
    pid = proc.popen.pid
    measured: list[tuple[float, float | None, float]] = []
    for number in range(1, count + 1):
        alarm = upload_approved(api, speech_clip(work, f"Cảnh báo thử số {number}."),
                                f"Cảnh báo thử {number}")
        time.sleep(SETTLE_S)
        mark, cpu, began = log.stat().st_size, cpu_seconds(pid), time.monotonic()
        made = api.post("/broadcasts", json={"bulletin_id": alarm["id"], "station_ids": ids,
                                             "priority": "emergency", "valid_minutes": 30})
        call = time.monotonic() - began
        made.raise_for_status()
        push = _logged_push(log, mark, stations)
        time.sleep(1.0)
        measured.append((call * 1000, push, (cpu_seconds(pid) - cpu) * 1000))
    return measured


def _logged_push(log: Path, mark: int, stations: int) -> float | None:
    """Wait for the scheduler's "published N plans in X ms" after mark; return X."""
    deadline = time.monotonic() + LOGGED_WAIT_S
    while time.monotonic() < deadline:
        with log.open("rb") as handle:
            handle.seek(mark)
            found = re.findall(rf"published {stations} plans in (\d+) ms",
                               handle.read().decode(errors="replace"))
        if found:
            return float(found[0])
        time.sleep(0.1)
    return None


def _each(values: Iterable[float | None]) -> str:
    return " / ".join("n/a" if v is None else f"{v:.0f}" for v in values) + " ms"


if __name__ == "__main__":
    sys.exit(main())
