"""Benchmark 2: emergency fan-out, from the API call to every station's ``started`` event.

    python -m bench.fanout [--stations 1000,10000] [--processes 2] [--install I]
                           [--to everyone|stations] [--media shared|own|held] [--repeat N]
                           [--quick]

For each fleet size: a real stack (``--install production``: Mosquitto with dynamic security,
PostgreSQL, ``wardcast serve``; ``default``: ``wardcast serve`` as a new user runs it, with the
Mosquitto it supervises and SQLite; ``amqtt``: the same without a mosquitto binary), N simulated
stations split over ``--processes`` ``wardcast simulate`` processes (one asyncio thread each:
the default two use both cores of a 2-core machine, as stations on their own PCs would),
all connected and idle. Then one
``POST /broadcasts`` to every station (``--to everyone``, the default: one message on the
fleet's urgent topic, which the broker fans out; ``--to stations``: every station named, a
plan to each, as before issue 17); the figures are started_at (the stations' clock, the
same machine's) minus the instant before the call, from the ledger. The new bulletin's media
is fetched at that moment, once, by the simulator's shared cache (``--media shared``, the
default: what media already on every PC costs), or by every station for itself
(``--media own``: N real downloads from the scheduler, each asked for after the random part
of the spread the message gives, as agents do), or not at all (``--media held``: every
broadcast plays one bulletin, which a first, unmeasured broadcast put on every station, as a
stock warning played before is: what the broker and the stations cost without media).

The baselines, in the same run: N bare paho clients on one asyncio loop (the simulator's hub)
on a plain anonymous Mosquitto, each subscribed to its own topic and to one topic they all
share. First one publisher sends each of them one QoS 1 message on its own topic (N
publishes, as the scheduler sends N plans); then it sends one QoS 1 message on the shared
topic, which the broker fans out (as a group topic would). The figures are publish start to
each message's arrival: what the broker and the clients cost without the scheduler, the
database and the agent's logic.

Runs of the same code on a 2-core machine spread by several hundred milliseconds at 10,000
stations; ``--repeat N`` sends N emergencies one after another to the same connected fleet
(each with its own bulletin, the next once every station has played the last) and reports
each, with the median and worst p99. Each broadcast also reports the simulator processes' CPU
from the call until every station has started: the stations' side of the cost, which a busy
machine disturbs less than it does the latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.harness import (
    FINAL,
    INSTALLS,
    Fleet,
    Stack,
    cpu_seconds,
    fleet,
    instant,
    percentiles,
    print_figures,
    rows_of_bulletin,
    speech_clip,
    stack,
    upload_approved,
    wait_rows,
    workdir,
)
from simulate.hub import MqttHub, Session
from simulate.stats import Counts
from tests.support.procs import Proc, free_port, port_open, wait_for
from wardcast.protocol import media_path, to_wire, utcnow

TEXT = "Cảnh báo khẩn cấp: lũ quét. Bà con di chuyển lên vùng cao ngay."
STARTED = FINAL | {"playing"}
BARE_WAIT_S = 120.0
MEDIA_FETCHES = 1000
MEDIA_CLIENTS = 32


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__)
    parser.add_argument("--stations", default="1000,10000",
                        help="comma-separated fleet sizes (default 1000,10000)")
    parser.add_argument("--processes", type=int, default=2,
                        help="simulator processes the stations are split over (default 2)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="emergency broadcasts per fleet size, one after another on the "
                             "same connected fleet (default 1); each is reported")
    parser.add_argument("--install", choices=INSTALLS, default="production",
                        help="what the scheduler runs on (default production)")
    parser.add_argument("--to", choices=("everyone", "stations"), default="everyone",
                        help="everyone: one message the broker fans out (the default); "
                             "stations: every station named, one plan each")
    parser.add_argument("--media", choices=("shared", "own", "held"), default="shared",
                        help="shared: one download for every station (the default); own: "
                             "each station downloads its own copy, as radio PCs do; held: "
                             "the stations hold the audio already (a warm-up broadcast)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20 stations")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    sizes = [20] if args.quick else [int(n) for n in args.stations.split(",")]
    ok = True
    for size in sizes:
        ok = run_one(size, processes=args.processes, repeat=args.repeat,
                     install=args.install, to=args.to, media=args.media) and ok
    return 0 if ok else 1


@dataclass
class Round:
    """One emergency broadcast to the whole fleet, as measured."""

    call_s: float
    pushed_ms: float | None
    rows: list[dict[str, Any]]
    asked: datetime
    delivered: int  # messages of the broadcast the stations counted in the round (N)
    plans: int  # plans the stations counted during the round
    reconnects: int  # sessions the stations made during the round (a sync hides a loss)
    trouble: list[str]  # the server log's errors and warnings during the round
    sim_cpu_s: float  # the simulator processes' CPU from the call to every station started
    downloads: int  # media downloads the stations completed during the round

    @cached_property
    def delays(self) -> list[float]:
        """Each started station's delay from the call (s)."""
        return [(instant(r["started_at"]) - self.asked).total_seconds() for r in self.rows
                if r["started_at"]]


def run_one(stations: int, *, processes: int, repeat: int = 1, install: str = "production",
            to: str = "everyone", media: str = "shared") -> bool:
    """Measure one fleet size (repeat broadcasts) and its baseline; print the figures;
    True if every station started every time."""
    timeout_s = 300 + stations / 20
    work = workdir(f"fanout-{stations}")
    rounds: list[Round] = []
    with stack(work, install=install, missed_grace_s="60", watchdog_interval_s="1") as running:
        api = running.api()
        with fleet(running, stations=stations, processes=processes,
                   own_media=media == "own") as sim:
            held = (upload_approved(api, speech_clip(work, TEXT), "Cảnh báo lũ quét")
                    if media == "held" else None)
            if held is not None:  # unmeasured: every station fetches the audio and keeps it
                _broadcast(running, api, sim, work, number=0, timeout_s=timeout_s, to=to,
                           alarm=held)
            for number in range(1, repeat + 1):
                rounds.append(_broadcast(running, api, sim, work, number=number,
                                         timeout_s=timeout_s, to=to, alarm=held,
                                         earlier=number if held else 0))
        own_view = " | ".join(sim.summaries())
        serving = _media_serving(running, api, work) if media == "own" else None
    floor, one_publish = _bare_fanout(work, stations)
    first = rounds[0]
    delays = first.delays
    statuses = Counter(str(r["status"]) for r in first.rows)
    ours = percentiles(delays or [float("nan")])
    base = percentiles(floor or [float("nan")])
    group = percentiles(one_publish or [float("nan")])
    figures = [
        ("stations registered, connected, plans synced in", f"{sim.connect_s:.1f} s"),
        ("simulator processes", str(processes)),
        ("POST /broadcasts answered in", f"{first.call_s * 1000:.0f} ms"),
        ("sent as", "one message to everyone, fanned out by the broker" if to == "everyone"
         else "a plan to each station"),
        ("media", {"shared": "one shared download",
                   "held": "held by every station already (played in a warm-up broadcast)"}
         .get(media, f"each station its own ({first.downloads} downloads)")),
        *([("the scheduler alone serves its media at", serving)] if serving else []),
        ("every plan (or the one message) handed to the broker", _pushed(first)),
        ("playbacks by status", ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))),
        ("its messages delivered to the stations / stations", f"{first.delivered} / {stations}"),
        ("plans delivered during the broadcast", str(first.plans)),
        ("reconnections during the broadcast", str(first.reconnects)),
        ("errors and warnings in the server log", _said(first.trouble)),
        ("started, in the ledger", f"{len(delays)} of {stations}"
         + ("" if len(delays) == stations else f" (gave up after {timeout_s:.0f} s)")),
        ("call → started p50 / p99 / max" + ("" if len(delays) == stations
                                             else " (of those started)"), _triple(ours)),
        ("baseline: bare MQTT fan-out p50 / p99 / max", _triple(base)
         + ("" if len(floor) == stations else f" ({len(floor)} of {stations} arrived)")),
        ("baseline: one publish to all on one topic p50 / p99 / max", _triple(group)
         + ("" if len(one_publish) == stations
            else f" ({len(one_publish)} of {stations} arrived)")),
        ("ratio p99 (fleet / bare)", f"{ours['p99'] / base['p99']:.1f}×"),
    ]
    for number, later in enumerate(rounds[1:], 2):
        figures.append((f"broadcast {number}: call / push / p50 / p99 / max",
                        f"{later.call_s * 1000:.0f} ms / {_pushed(later)} / "
                        + _triple(percentiles(later.delays or [float("nan")]))
                        + ("" if len(later.delays) == stations
                           else f" ({len(later.delays)} of {stations} started)")
                        + f"; delivered {later.delivered}, reconnections {later.reconnects}"
                        f", log trouble {len(later.trouble)}"))
    if len(rounds) > 1:
        p99s = [percentiles(r.delays or [float("nan")])["p99"] for r in rounds]
        figures.append((f"p99 over the {len(rounds)} broadcasts: median / worst",
                        f"{statistics.median(p99s) * 1000:.0f} / {max(p99s) * 1000:.0f} ms"))
    figures.append(("simulators' CPU, call → all started, per broadcast",
                    " / ".join(_per_station(r.sim_cpu_s, stations) for r in rounds)))
    figures.append(("simulator's own summary (start − slot)", own_view))
    print_figures(f"Benchmark 2 — emergency fan-out to {stations} stations ({install} install, "
                  f"--to {to}, --media {media})", figures)
    return all(len(r.delays) == stations and r.delivered == stations and not r.reconnects
               and not r.trouble for r in rounds)


def _per_station(cpu_s: float, stations: int) -> str:
    return f"{cpu_s * 1000:.0f} ms ({cpu_s / stations * 1e6:.0f} µs a station)"


def _said(trouble: list[str]) -> str:
    return "none" if not trouble else f"{len(trouble)}, first: {trouble[0][:160]}"


def _broadcast(running: Stack, api: httpx.Client, sim: Fleet, work: Path, *, number: int,
               timeout_s: float, to: str, alarm: dict[str, Any] | None = None,
               earlier: int = 0) -> Round:
    """Send a bulletin to every station as an emergency, and measure it.

    Without alarm each broadcast uploads a bulletin of its own, so its media is fetched at
    that moment; with alarm (held media) the bulletin of `earlier` broadcasts before. The
    next broadcast waits until every station has played this one.
    """
    if alarm is None:
        alarm = upload_approved(api, speech_clip(work, f"{TEXT} Bản tin số {number}."),
                                f"Cảnh báo lũ quét {number}")
    time.sleep(5)  # let the upload and the connect-time plan syncs drain: fan-out alone
    server_log = running.server.workdir / "server.log"
    log_mark = server_log.stat().st_size
    before = sim.counts()
    cpu_before = sim.cpu_s()
    asked = utcnow()
    began = time.monotonic()
    targets: dict[str, object] = ({"everyone": True} if to == "everyone"
                                  else {"station_ids": sim.station_ids})
    made = api.post("/broadcasts", json={"bulletin_id": alarm["id"], **targets,
                                         "priority": "emergency", "valid_minutes": 30})
    call_s = time.monotonic() - began
    made.raise_for_status()
    stations = len(sim.station_ids)
    every = stations * (earlier + 1)  # this bulletin's rows, earlier broadcasts' included
    try:
        rows = wait_rows(api, alarm["id"], expected=every, statuses=STARTED, timeout=timeout_s)
        sim_cpu_s = sim.cpu_s() - cpu_before
        wait_rows(api, alarm["id"], expected=every, statuses=FINAL, timeout=timeout_s)
    except TimeoutError:  # report how far it got rather than nothing
        rows = rows_of_bulletin(api, alarm["id"])
        sim_cpu_s = math.nan
    rows = [row for row in rows if row["broadcast_id"] == made.json()["id"]]
    def carried(counts: Counts) -> int:  # the messages that carry the broadcast
        return counts.urgent if to == "everyone" else counts.plans

    with contextlib.suppress(TimeoutError, AssertionError):  # the summaries come every few seconds
        wait_for(lambda: carried(sim.counts()) >= carried(before) + stations, timeout=30,
                 what="the simulators' summaries to count the broadcast's messages")
    after = sim.counts()
    with server_log.open("rb") as handle:
        handle.seek(log_mark)
        logged = handle.read().decode(errors="replace")
    return Round(call_s, _plans_published_ms(logged, stations), rows, asked,
                 delivered=carried(after) - carried(before), plans=after.plans - before.plans,
                 reconnects=after.connects - before.connects, trouble=_trouble(logged),
                 sim_cpu_s=sim_cpu_s, downloads=after.downloads - before.downloads)


def _media_serving(running: Stack, api: httpx.Client, work: Path) -> str:
    """Time MEDIA_FETCHES downloads of one station's audio, MEDIA_CLIENTS at once, from this
    process once the fleet has stopped: what the scheduler can serve (the spread it gives the
    members, fanout.MEDIA_FETCHES_PER_S, is set from it), and its CPU per download."""
    bulletin = upload_approved(api, speech_clip(work, TEXT), "Cảnh báo đo tải")
    made = api.post("/stations", json={"name": "Trạm đo tải", "ward": "Đo tải"})
    made.raise_for_status()
    station = made.json()
    at = to_wire(utcnow() + timedelta(hours=2))
    api.post("/timetables", json={"bulletin_id": bulletin["id"], "station_ids": [station["id"]],
                                  "starts_at": at}).raise_for_status()
    url = f"{running.server.base}{media_path(bulletin['sha256'])}"
    headers = {"Authorization": f"Bearer {station['token']}"}

    async def download_all() -> list[int]:
        limits = httpx.Limits(max_connections=MEDIA_CLIENTS)
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as http:
            async def one() -> int:
                return (await http.get(url)).status_code

            return await asyncio.gather(*(one() for _ in range(MEDIA_FETCHES)))

    server = running.server.proc
    assert server is not None and server.popen is not None, "the scheduler is running"
    cpu_before = cpu_seconds(server.popen.pid)
    began = time.monotonic()
    codes = asyncio.run(download_all())
    wall = time.monotonic() - began
    cpu = cpu_seconds(server.popen.pid) - cpu_before
    ok = codes.count(200)
    return (f"{ok / wall:.0f} downloads/s ({ok} of {MEDIA_FETCHES} answered 200, "
            f"{MEDIA_CLIENTS} at once; {cpu / MEDIA_FETCHES * 1000:.1f} ms of its CPU each)")


def _trouble(log_text: str) -> list[str]:
    """Return the log lines that say something went wrong (errors, warnings, tracebacks)."""
    return [line for line in log_text.splitlines()
            if any(mark in line for mark in (" ERROR ", " WARNING ", " CRITICAL ",
                                             "Traceback", "not broadcasted"))]


def _pushed(measured: Round) -> str:
    return ("n/a (not logged: under 100 plans)" if measured.pushed_ms is None
            else f"{measured.pushed_ms:.0f} ms")


def _plans_published_ms(log_text: str, stations: int) -> float | None:
    """Return how long the scheduler said it took to publish the broadcast's plans, or its
    one message (from when it was asked for)."""
    found = (re.findall(rf"published {stations} plans in (\d+) ms", log_text)
             or re.findall(rf"to {stations} station\(s\) published (\d+) ms after", log_text))
    return float(found[0]) if found else None


def _subscriber(session: Session, topics: list[str]) -> Callable[..., None]:
    """Return an on_connect that tells the hub and subscribes to the topics (one SUBACK)."""

    def on_connect(client: mqtt.Client, *_: object) -> None:
        session.connected()
        client.subscribe([(topic, 1) for topic in topics])

    return on_connect


def _triple(figures: dict[str, float]) -> str:
    return " / ".join(f"{figures[k] * 1000:.0f}" for k in ("p50", "p99", "max")) + " ms"


def _bare_fanout(work: Path, count: int) -> tuple[list[float], list[float]]:
    """Run the baselines on their own anonymous Mosquitto; return each arrival's delay (s),
    for N publishes on the clients' own topics, then for one publish on a shared topic."""
    port = free_port()
    conf = work / "bare-mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                    "set_tcp_nodelay true\nmax_queued_messages 100000\n")
    broker = Proc(["mosquitto", "-c", str(conf)], log=work / "bare-mosquitto.log").start()
    try:
        wait_for(lambda: port_open(port), timeout=10, what="the bare mosquitto")
        return asyncio.run(_fan_out(port, count))
    finally:
        broker.stop()


SHARED_TOPIC = "bare/all/urgent"


class _Arrivals:
    """Delays of the messages of one phase, from its publish start; set once all are in."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.delays: list[float] = []
        self.began = 0.0
        self.all_in = asyncio.Event()

    def start(self) -> None:
        self.began = time.monotonic()

    def arrived(self) -> None:
        self.delays.append(time.monotonic() - self.began)
        if len(self.delays) == self.count:
            self.all_in.set()

    async def wait(self) -> list[float]:
        with contextlib.suppress(TimeoutError):  # a partial baseline is still reported
            await asyncio.wait_for(self.all_in.wait(), BARE_WAIT_S)
        return self.delays


async def _fan_out(port: int, count: int) -> tuple[list[float], list[float]]:
    hub = MqttHub(connect_limit=200)
    misc = asyncio.create_task(hub.run())
    own, shared = _Arrivals(count), _Arrivals(count)
    subscribed = asyncio.Event()
    acks = [0]

    def on_subscribe(*_: object) -> None:
        acks[0] += 1
        if acks[0] == count:
            subscribed.set()

    def on_message(_client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        (shared if message.topic == SHARED_TOPIC else own).arrived()

    # The publisher runs paho's own thread, whose select() takes only descriptors below 1024:
    # it must open its sockets before the N subscribers take thousands.
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bare-publisher",
                            protocol=mqtt.MQTTv311)
    publisher.max_queued_messages_set(0)
    publisher.max_inflight_messages_set(1000)
    publisher.connect("127.0.0.1", port)
    publisher.loop_start()
    sessions = []
    for index in range(count):
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bare-{index}",
                             protocol=mqtt.MQTTv311)
        session = Session()
        client.on_connect = _subscriber(session, [f"bare/{index}/plan", SHARED_TOPIC])
        client.on_disconnect = lambda *_, s=session: s.lost()
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        client.connect_async("127.0.0.1", port, keepalive=60)
        hub.adopt(client)
        hub.keep_connected(client, session, label=f"bare-{index}")
        sessions.append((client, session))
    await asyncio.wait_for(subscribed.wait(), 600)
    payload = b"x" * 600  # about one plan item
    own.start()
    for index in range(count):
        publisher.publish(f"bare/{index}/plan", payload, qos=1)
    each = await own.wait()
    await asyncio.sleep(1)  # the clients' PUBACKs out of the way
    shared.start()
    publisher.publish(SHARED_TOPIC, payload, qos=1)
    once = await shared.wait()
    publisher.disconnect()
    publisher.loop_stop()
    await asyncio.gather(*(hub.release(c, s, wait_s=2) for c, s in sessions))
    misc.cancel()
    await hub.close()
    return each, once


if __name__ == "__main__":
    sys.exit(main())

