"""One worker thread that owns ingestion and plan pushes, so they never race each other."""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from scheduler.broker.accounts import DYNSEC_RESPONSE_TOPIC, log_dynsec_response
from scheduler.db import Database
from scheduler.dispatch.client import BrokerLogin, Incoming, SchedulerLink
from scheduler.dispatch.plans import build_plan
from scheduler.playbacks import ledger
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from wardcast import protocol
from wardcast.protocol import Channel, ProtocolError, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushPlans:
    station_ids: frozenset[int]


@dataclass(frozen=True)
class DispatchTiming:
    late_grace: timedelta
    horizon: timedelta
    missed_grace: timedelta


class Dispatcher:
    """Ingests agent messages in arrival order and publishes plans."""

    def __init__(self, *, db: Database, login: BrokerLogin, timing: DispatchTiming,
                 dynsec: bool = False) -> None:
        self.db = db
        self.timing = timing
        self.inbox: queue.Queue[Incoming | PushPlans | None] = queue.Queue()
        extra = [DYNSEC_RESPONSE_TOPIC] if dynsec else []
        self.link = SchedulerLink(login, self.inbox, extra_subscriptions=extra)
        self.counters: Counter[str] = Counter()
        self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.link.start()

    def stop(self) -> None:
        self.link.stop()
        self.inbox.put(None)
        self._thread.join(timeout=10)

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish a QoS 1 message (used for broker administration)."""
        self.link.publish(topic, payload)

    def push_plans(self, station_ids: Iterable[int]) -> None:
        """Ask the worker to send these stations their whole plan."""
        ids = frozenset(station_ids)
        if ids:
            self.inbox.put(PushPlans(ids))

    def _run(self) -> None:
        while (item := self.inbox.get()) is not None:
            try:
                if isinstance(item, PushPlans):
                    self._publish_plans(item.station_ids)
                else:
                    self._ingest(item)
            except Exception:  # the loop must survive anything one message does
                log.exception("dispatcher failed on %r", item)
                self.counters["errors"] += 1

    def _ingest(self, message: Incoming) -> None:
        if message.topic == DYNSEC_RESPONSE_TOPIC:
            log_dynsec_response(message.payload)
            self.link.ack(message)
            return
        parsed = protocol.parse_station_topic(message.topic)
        station_id = _station_id(parsed[0]) if parsed else None
        if parsed is None or station_id is None:
            self._drop(message, "unknown topic")
            return
        channel = parsed[1]
        try:
            if channel is Channel.EVENTS:
                self._on_event(station_id, protocol.decode(protocol.Event, message.payload))
            elif channel is Channel.STATUS:
                self._on_status(station_id, protocol.decode(protocol.Status, message.payload))
            elif channel is Channel.SYNC:
                self._on_sync(station_id, protocol.decode(protocol.SyncRequest, message.payload))
            else:
                self._drop(message, "not a channel agents publish on")
                return
        except ProtocolError as exc:
            self._drop(message, str(exc))
            return
        self.link.ack(message)

    def _drop(self, message: Incoming, why: str) -> None:
        self.counters["dropped"] += 1
        log.warning("dropped message on %s: %s", message.topic, why)
        self.link.ack(message)

    def _on_event(self, station_id: int, event: protocol.Event) -> None:
        with self.db.session() as session:
            fresh = ledger.apply_event(session=session, station_id=station_id, event=event)
            stations.touch(session=session, station_id=station_id,
                           clock_offset_ms=event.clock_offset_ms)
        self.counters["events" if fresh else "duplicates"] += 1

    def _on_status(self, station_id: int, status: protocol.Status) -> None:
        with self.db.session() as session:
            stations.record_status(session=session, station_id=station_id,
                                   online=status.state == "online", boot_id=status.boot_id,
                                   at=status.at, clock_offset_ms=status.clock_offset_ms,
                                   now_playing=status.now_playing)

    def _on_sync(self, station_id: int, request: protocol.SyncRequest) -> None:
        now = utcnow()
        with self.db.session() as session:
            ledger.reconcile_after_sync(session=session, station_id=station_id, now=now,
                                        grace=self.timing.missed_grace)
            stations.touch(session=session, station_id=station_id, clock_offset_ms=None)
        self._publish_plans(frozenset({station_id}))

    def _publish_plans(self, station_ids: frozenset[int]) -> None:
        now = utcnow()
        with self.db.session() as session:
            for station_id in sorted(station_ids):
                station = session.get(Station, station_id)
                if station is None:
                    continue
                plan = build_plan(session=session, station=station, now=now,
                                  late_grace=self.timing.late_grace, horizon=self.timing.horizon)
                topic = protocol.station_topic(str(station_id), Channel.PLAN)
                self.link.publish(topic, protocol.encode(plan), retain=True)
                self.counters["plans"] += 1


def _station_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None
