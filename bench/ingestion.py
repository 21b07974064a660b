"""Benchmark 3: event ingestion through the real Dispatcher, beside a bare executemany floor.

    python -m bench.ingestion [--events 50000] [--stations 1000] [--publishers 4]
                              [--db sqlite,postgres] [--quick]

For each database: a fresh Mosquitto (anonymous, no dynsec: authentication is not what is
measured), a fresh migrated database with planned playbacks, and N paho publishers that push
accepted/downloaded/started/finished events for them, QoS 1, on behalf of many stations.
The events are queued in the ingester's persistent session while it is offline; then the
ingester connects and the clock runs until every event is committed (a backlog drain: the
publishers' speed on this 2-core machine cannot flatter either side). Then the rows are
counted and the event ids compared: none may be lost. The floor is a bare paho subscriber
that inserts the same event rows and updates the same playbacks with one executemany each
per batch, acking after commit.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import queue
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import bindparam, insert, select, text, update

from bench.data import (
    KINDS,
    WORK_DIR,
    Stopwatch,
    fresh_database,
    print_table,
    seed_bulletin,
    seed_stations,
    utc_now,
)
from scheduler.db import Database
from scheduler.dispatch.client import BrokerLogin
from scheduler.dispatch.dispatcher import Dispatcher, DispatchTiming
from scheduler.playbacks.models import Playback, PlaybackEvent
from tests.support.procs import Proc, free_port, port_open, wait_for
from wardcast import protocol
from wardcast.protocol import Channel, Event, EventType

STEPS = (EventType.ACCEPTED, EventType.DOWNLOADED, EventType.STARTED, EventType.FINISHED)
FLOOR_CLIENT_ID = "bench-floor"
STALL_S = 60.0  # no progress for this long: give up and report what was lost


@dataclass(frozen=True)
class Workload:
    """The messages to publish, per publisher, and the event ids that must be stored."""

    batches: list[list[tuple[str, bytes]]]
    event_ids: frozenset[str]


@dataclass(frozen=True)
class Result:
    ingester: str
    database: str
    events: int
    seconds: float
    stored: int
    lost: int
    retries: int  # batches that failed and were stored one event at a time

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0


@contextmanager
def broker(workdir: Path, *, queued: int) -> Iterator[int]:
    """Run a plain Mosquitto that queues the whole backlog; yield its port."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(f"user root\nlistener {port} 127.0.0.1\nallow_anonymous true\n"
                    f"persistence false\nmax_queued_messages {queued}\nmax_queued_bytes 0\n"
                    "max_inflight_messages 100\n")
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = Proc([binary, "-c", str(conf)], log=workdir / "mosquitto.log").start()
    try:
        wait_for(lambda: port_open(port), timeout=10, what="mosquitto to listen")
        yield port
    finally:
        proc.stop()


def seed(db: Database, *, events: int, stations: int, publishers: int) -> Workload:
    """Create stations and planned playbacks, and the events their agents would report."""
    now = utc_now()
    station_ids = seed_stations(db.engine, count=stations, wards=max(stations // 20, 1), now=now)
    bulletin_id = seed_bulletin(db.engine, now=now)
    count = -(-events // len(STEPS))
    rows = [{"station_id": station_ids[i % stations], "bulletin_id": bulletin_id,
             "scheduled_at": now + timedelta(minutes=i % 600), "priority": "normal",
             "status": "planned", "created_at": now, "updated_at": now} for i in range(count)]
    with db.engine.begin() as conn:
        conn.execute(insert(Playback), rows)
        playbacks = conn.execute(select(Playback.id, Playback.station_id)
                                 .order_by(Playback.id)).all()
    if db.engine.dialect.name == "postgresql":
        # a live system's tables have statistics (autovacuum); fresh ones would be seq-scanned
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    batches: list[list[tuple[str, bytes]]] = [[] for _ in range(publishers)]
    ids: list[str] = []
    for step in STEPS:  # every station reports in order, playback by playback
        for playback_id, station_id in playbacks:
            if len(ids) == events:
                break
            event = Event(event_id=uuid.uuid4().hex, playback_id=playback_id, type=step,
                          at=now, clock_offset_ms=3, boot_id="bench",
                          position_ms=60_000 if step is EventType.FINISHED else None)
            ids.append(event.event_id)
            topic = protocol.station_topic(str(station_id), Channel.EVENTS)
            batches[station_id % publishers].append((topic, protocol.encode(event)))
    return Workload(batches, frozenset(ids))


def publish(port: int, messages: list[tuple[str, bytes]], name: str) -> None:
    """Publish every message QoS 1 and wait until the broker has acknowledged them all."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=120)
    client.disconnect()
    client.loop_stop()


def open_session(port: int, client_id: str) -> None:
    """Create the ingester's persistent session and its subscriptions, then go offline."""
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                         protocol=mqtt.MQTTv311)
    client.on_subscribe = lambda *_args: subscribed.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.subscribe([(topic, protocol.QOS) for topic in protocol.scheduler_subscriptions()])
    if not subscribed.wait(10):
        raise RuntimeError("the broker never acknowledged the subscription")
    client.disconnect()
    client.loop_stop()


def fill_backlog(port: int, workload: Workload) -> float:
    """Publish the workload from one process per publisher; return the seconds it took."""
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=publish, args=(port, batch, f"bench-pub-{n}"))
             for n, batch in enumerate(workload.batches)]
    with Stopwatch() as watch:
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
    if any(proc.exitcode for proc in procs):
        raise RuntimeError("a publisher failed")
    return watch.seconds


def drain(progress: Callable[[], int], expected: int) -> float:
    """Wait until progress() reaches expected (or stalls); return the seconds it took."""
    start = time.perf_counter()
    last, last_change = -1, start
    while (done := progress()) < expected:
        now = time.perf_counter()
        if done != last:
            last, last_change = done, now
        elif now - last_change > STALL_S:
            break
        time.sleep(0.02)  # polling granularity only: the figure is events over seconds
    return time.perf_counter() - start


def stored_ids(db: Database) -> set[str]:
    """Return the event ids in the ledger."""
    with db.engine.connect() as conn:
        return set(conn.execute(select(PlaybackEvent.event_id)).scalars())


def run_dispatcher(db: Database, port: int, workload: Workload) -> tuple[float, int]:
    """Drain the backlog through the real Dispatcher; return the seconds it took and how
    many of its batches failed and were stored one event at a time (0 when all is well)."""
    open_session(port, protocol.SCHEDULER_CLIENT_ID)
    fill_backlog(port, workload)
    login = BrokerLogin(host="127.0.0.1", port=port, username=None, password=None)
    timing = DispatchTiming(late_grace=timedelta(minutes=5), horizon=timedelta(hours=48))
    dispatcher = Dispatcher(db=db, login=login, timing=timing)
    dispatcher.start()
    try:
        seconds = drain(lambda: dispatcher.counters["events"] + dispatcher.counters["duplicates"],
                        len(workload.event_ids))
        return seconds, dispatcher.counters["batch_retries"]
    finally:
        dispatcher.stop()


class Floor:
    """A bare subscriber: json.loads, one executemany insert and one update per batch."""

    def __init__(self, db: Database, port: int) -> None:
        self.db = db
        self.inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.stored = 0
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=FLOOR_CLIENT_ID,
                                  clean_session=False, protocol=mqtt.MQTTv311, manual_ack=True)
        self.client.on_message = lambda _c, _u, message: self.inbox.put(message)
        self.client.on_connect = lambda client, *_a: client.subscribe(
            [(topic, protocol.QOS) for topic in protocol.scheduler_subscriptions()])
        self.port = port
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        events, playbacks = PlaybackEvent.__table__, Playback.__table__
        touch = update(playbacks).where(playbacks.c.id == bindparam("pid")).values(
            status=bindparam("new_status"), updated_at=bindparam("stamp"))
        while not self._stop.is_set():
            try:
                batch = [self.inbox.get(timeout=0.1)]
            except queue.Empty:
                continue
            while len(batch) < 500:
                try:
                    batch.append(self.inbox.get_nowait())
                except queue.Empty:
                    break
            stamp = utc_now()
            rows = [_floor_row(json.loads(m.payload), m.topic, stamp) for m in batch]
            with self.db.engine.begin() as conn:
                conn.execute(insert(events), rows)
                conn.execute(touch, [{"pid": r["playback_id"], "new_status": r["type"],
                                      "stamp": stamp} for r in rows])
            for message in batch:
                self.client.ack(message.mid, message.qos)
            self.stored += len(batch)


def _floor_row(data: dict[str, Any], topic: str, stamp: datetime) -> dict[str, Any]:
    return {"event_id": data["event_id"], "playback_id": data["playback_id"],
            "station_id": int(topic.split("/")[2]), "type": data["type"],
            "at": datetime.fromisoformat(data["at"]), "received_at": stamp,
            "clock_offset_ms": data.get("clock_offset_ms"),
            "position_ms": data.get("position_ms"), "boot_id": data.get("boot_id") or None,
            "reason": data.get("reason"), "applied": True}


def run_floor(db: Database, port: int, workload: Workload) -> tuple[float, int]:
    """Drain the backlog through the bare subscriber; return the seconds it took (and 0)."""
    open_session(port, FLOOR_CLIENT_ID)
    fill_backlog(port, workload)
    floor = Floor(db, port)
    floor.start()
    try:
        return drain(lambda: floor.stored, len(workload.event_ids)), 0
    finally:
        floor.stop()


def measure(kind: str, ingester: str, args: argparse.Namespace, workdir: Path) -> Result:
    """Run one ingester on one fresh database and broker; count what was stored."""
    runner = run_dispatcher if ingester == "dispatcher" else run_floor
    with fresh_database(kind, workdir) as db, broker(workdir / f"mqtt-{kind}-{ingester}",
                                                      queued=args.events * 2) as port:
        workload = seed(db, events=args.events, stations=args.stations,
                        publishers=args.publishers)
        seconds, retries = runner(db, port, workload)
        stored = stored_ids(db)
    lost = len(workload.event_ids - stored)
    return Result(ingester, kind, len(workload.event_ids), seconds, len(stored), lost, retries)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingestion", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--db", default=",".join(KINDS), help="sqlite, postgres or both")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.stations, args.publishers = 400, 20, 2
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    rows: list[list[object]] = []
    failed = False
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK_DIR, prefix="ingestion-") as tmp:
        for kind in kinds:
            dispatcher = measure(kind, "dispatcher", args, Path(tmp))
            floor = measure(kind, "floor", args, Path(tmp))
            for result in (dispatcher, floor):
                rows.append([result.database, result.ingester, result.events, result.stored,
                             result.lost, result.retries, result.seconds, result.rate])
                failed |= result.lost > 0 or result.retries > 0
            ratio = floor.rate / dispatcher.rate if dispatcher.rate else float("inf")
            rows.append([kind, "ratio floor/dispatcher", "", "", "", "", "", f"{ratio:.2f}x"])
    print_table(f"Event ingestion: {args.events:,} events from {args.stations:,} stations, "
                f"{args.publishers} publishers (target: ratio <= 2x)",
                ["database", "ingester", "events", "stored", "lost", "batch retries", "seconds",
                 "events/s"],
                rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
