"""One worker thread that owns ingestion and plan pushes, so they never race each other."""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel

from scheduler.broker.accounts import DYNSEC_RESPONSE_TOPIC, log_dynsec_response
from scheduler.controls import service as controls
from scheduler.db import Database
from scheduler.dispatch.client import BrokerLogin, Incoming, SchedulerLink
from scheduler.dispatch.plans import build_plans
from scheduler.playbacks import ledger
from scheduler.playbacks.models import Playback
from scheduler.stations import service as stations
from wardcast import protocol
from wardcast.protocol import Channel, ProtocolError, utcnow

log = logging.getLogger(__name__)

BATCH = 500
DB_INT = (-(2**31), 2**31 - 1)  # every integer the ledger stores is a 32-bit column


@dataclass(frozen=True)
class PushPlans:
    station_ids: frozenset[int]


@dataclass(frozen=True)
class DispatchTiming:
    late_grace: timedelta
    horizon: timedelta


Work = Incoming | PushPlans


@dataclass(frozen=True)
class Report:
    """A decoded event message on its way into the ledger."""

    message: Incoming
    station_id: int
    event: protocol.Event


class Dispatcher:
    """Ingests agent messages in arrival order and publishes plans and acks."""

    def __init__(self, *, db: Database, login: BrokerLogin, timing: DispatchTiming,
                 dynsec: bool = False) -> None:
        self.db = db
        self.timing = timing
        self.inbox: queue.Queue[Work | None] = queue.Queue()
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

    def send_command(self, station_id: int, command: protocol.Command) -> None:
        """Publish a command to one station (QoS 1, not retained: it is for now)."""
        self.link.publish(protocol.station_topic(str(station_id), Channel.COMMAND),
                          protocol.encode(command))

    def push_plans(self, station_ids: Iterable[int]) -> None:
        """Ask the worker to send these stations their whole plan."""
        ids = frozenset(station_ids)
        if ids:
            self.inbox.put(PushPlans(ids))

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            acks: dict[int, list[str]] = defaultdict(list)
            # Consecutive events share one transaction; anything else first commits them,
            # so every message is still handled in arrival order.
            events: list[Report] = []
            for item in batch:
                try:
                    report = self._as_event(item)
                    if report is not None:
                        events.append(report)
                        continue
                    self._ingest_events(events, acks)
                    if isinstance(item, PushPlans):
                        self._publish_plans(item.station_ids)
                    else:
                        self._ingest(item, acks)
                except Exception:  # the loop must survive anything one message does
                    log.exception("dispatcher failed on %r", item)
                    self.counters["errors"] += 1
            self._ingest_events(events, acks)
            self._send_acks(acks)

    def _next_batch(self) -> list[Work] | None:
        """Block for one item, then take whatever else is already waiting (up to BATCH)."""
        first = self.inbox.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < BATCH:
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self.inbox.put(None)
                break
            batch.append(item)
        return batch

    def _as_event(self, item: Work) -> Report | None:
        """Return a well-formed event message decoded, or None for anything else."""
        if not isinstance(item, Incoming):
            return None
        parsed = protocol.parse_station_topic(item.topic)
        if parsed is None or parsed[1] is not Channel.EVENTS:
            return None
        station_id = _station_id(parsed[0])
        try:
            event = _decode(protocol.Event, item.payload)
        except ProtocolError:
            return None  # _ingest drops it, in its turn
        return None if station_id is None else Report(item, station_id, event)

    def _ingest_events(self, events: list[Report], acks: dict[int, list[str]]) -> None:
        """Commit the waiting events in one transaction, then ack them in order."""
        if not events:
            return
        reports = events.copy()
        events.clear()
        try:
            with self.db.session() as session:
                outcomes = ledger.apply_events(
                    session=session, reports=[(r.station_id, r.event) for r in reports])
                offsets: dict[int, int | None] = {}
                for report in reports:  # the latest offset each station reported wins
                    offset = report.event.clock_offset_ms
                    if offset is not None or report.station_id not in offsets:
                        offsets[report.station_id] = offset
                stations.touch_many(session=session, offsets=offsets)
        except Exception:  # e.g. another replica stored one of them: take them one by one
            log.warning("batch of %d events failed; retrying one by one", len(reports),
                        exc_info=True)
            self.counters["batch_retries"] += 1
            for report in reports:
                try:
                    self._ingest(report.message, acks)
                except Exception:
                    log.exception("dispatcher failed on %r", report.message)
                    self.counters["errors"] += 1
            return
        for report, outcome in zip(reports, outcomes, strict=True):
            self.counters["duplicates" if outcome is ledger.Outcome.DUPLICATE else "events"] += 1
            if outcome is ledger.Outcome.FOREIGN:
                self.counters["foreign_events"] += 1
            acks[report.station_id].append(report.event.event_id)
            self.link.ack(report.message)

    def _ingest(self, message: Incoming, acks: dict[int, list[str]]) -> None:
        if message.topic == DYNSEC_RESPONSE_TOPIC:
            log_dynsec_response(message.payload)
            self.link.ack(message)
            return
        parsed = protocol.parse_station_topic(message.topic)
        station_id = _station_id(parsed[0]) if parsed else None
        if parsed is None or station_id is None:
            self._drop(message, "unknown topic")
            return
        try:
            self._handle(station_id, parsed[1], message.payload, acks)
        except ProtocolError as exc:
            self._drop(message, str(exc))
            return
        self.link.ack(message)

    def _handle(self, station_id: int, channel: Channel, payload: bytes,
                acks: dict[int, list[str]]) -> None:
        if channel is Channel.EVENTS:
            event = _decode(protocol.Event, payload)
            self._on_event(station_id, event)
            acks[station_id].append(event.event_id)
        elif channel is Channel.STATUS:
            self._on_status(station_id, _decode(protocol.Status, payload))
        elif channel is Channel.COMMAND_RESULT:
            result = protocol.decode(protocol.CommandResult, payload)
            with self.db.session() as session:
                controls.record_result(session=session, station_id=station_id, result=result)
        elif channel is Channel.SYNC:
            _decode(protocol.SyncRequest, payload)
            self._publish_plans(frozenset({station_id}))
        else:
            raise ProtocolError(f"agents do not publish on {channel.value}")

    def _drop(self, message: Incoming, why: str) -> None:
        self.counters["dropped"] += 1
        log.warning("dropped message on %s: %s", message.topic, why)
        self.link.ack(message)

    def _on_event(self, station_id: int, event: protocol.Event) -> None:
        with self.db.session() as session:
            fresh = ledger.apply_event(session=session, station_id=station_id, event=event)
            stations.touch(session=session, station_id=station_id,
                           clock_offset_ms=event.clock_offset_ms)
            # apply_event loaded the playback, so this asks the identity map, not the database
            foreign = fresh and getattr(session.get(Playback, event.playback_id), "station_id",
                                        None) != station_id
        self.counters["events" if fresh else "duplicates"] += 1
        if foreign:
            self.counters["foreign_events"] += 1  # kept as evidence, applied to nothing

    def _on_status(self, station_id: int, status: protocol.Status) -> None:
        with self.db.session() as session:
            stations.record_status(session=session, station_id=station_id,
                                   online=status.state == "online", boot_id=status.boot_id,
                                   at=status.at, clock_offset_ms=status.clock_offset_ms,
                                   now_playing=status.now_playing)

    def _send_acks(self, acks: dict[int, list[str]]) -> None:
        """Tell each agent which of its events are committed (QoS 0: it resends the rest)."""
        for station_id, event_ids in acks.items():
            for start in range(0, len(event_ids), 1000):
                ack = protocol.Ack(event_ids=event_ids[start:start + 1000])
                self.link.publish(protocol.station_topic(str(station_id), Channel.ACK),
                                  protocol.encode(ack), qos=0)

    def _publish_plans(self, station_ids: frozenset[int]) -> None:
        # One query per few hundred stations: an emergency to 10,000 stations must not wait
        # for 10,000 round trips before the first plan goes out.
        now = utcnow()
        with self.db.session() as session:
            for station_id, plan in build_plans(session=session, station_ids=station_ids,
                                                now=now, late_grace=self.timing.late_grace,
                                                horizon=self.timing.horizon):
                topic = protocol.station_topic(str(station_id), Channel.PLAN)
                self.link.publish(topic, protocol.encode(plan), retain=True)
                self.counters["plans"] += 1


M = TypeVar("M", bound=BaseModel)


def _decode(model: type[M], payload: bytes) -> M:
    """Parse an agent's payload; anything that cannot be stored is a ProtocolError too.

    Two things protocol.decode lets through would otherwise fail later, unacknowledged (so the
    broker would hand the message back after every reconnect): a JSON integer of more than
    4300 digits (json raises a plain ValueError) and an integer too big for the database
    (the commit fails).
    """
    try:
        message = protocol.decode(model, payload)
    except ProtocolError:
        raise
    except ValueError as exc:
        raise ProtocolError(f"unreadable {model.__name__}: {exc}") from exc
    for name, value in message:
        if isinstance(value, int) and not DB_INT[0] <= value <= DB_INT[1]:
            raise ProtocolError(f"{model.__name__}.{name} is out of range")
    return message


def _station_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None
