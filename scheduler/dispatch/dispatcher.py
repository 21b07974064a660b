"""One worker thread that owns ingestion and plan pushes, so they never race each other."""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel

from scheduler.broker.accounts import DYNSEC_RESPONSE_TOPIC, log_dynsec_response
from scheduler.controls import service as controls
from scheduler.db import Database
from scheduler.dispatch.client import BrokerLogin, Incoming, SchedulerLink
from scheduler.dispatch.plans import build_plans
from scheduler.dispatch.sender import Sender
from scheduler.playbacks import ledger
from scheduler.playbacks.models import Playback
from scheduler.stations import service as stations
from wardcast import protocol
from wardcast.protocol import DB_INT, Channel, ProtocolError, utcnow

log = logging.getLogger(__name__)

BATCH = 500
MANY_PLANS = 100
SERVICE_EVERY = 500  # plans of a push between two reads of the broker's answers
IDLE_SERVICE_S = 1.0  # an idle worker still reads its sending connection this often


@dataclass(frozen=True)
class DispatchTiming:
    late_grace: timedelta
    horizon: timedelta


class Wake:
    """Put in the inbox when plans are waiting to be pushed."""


WAKE = Wake()
Work = Incoming | Wake


@dataclass(frozen=True)
class Report:
    """A decoded event message on its way into the ledger."""

    message: Incoming
    station_id: int
    event: protocol.Event


@dataclass
class Gathered:
    """Well-formed messages of one batch that are written together, in a few statements."""

    events: list[Report] = field(default_factory=list)
    statuses: list[tuple[Incoming, int, protocol.Status]] = field(default_factory=list)
    syncs: list[tuple[Incoming, int]] = field(default_factory=list)

    def add(self, item: Work) -> bool:
        """Take a well-formed event, status or sync request; False for anything else."""
        if not isinstance(item, Incoming):
            return False
        parsed = protocol.parse_station_topic(item.topic)
        station_id = _station_id(parsed[0]) if parsed else None
        if parsed is None or station_id is None:
            return False
        try:
            if parsed[1] is Channel.EVENTS:
                self.events += [Report(item, station_id, event)
                                for event in protocol.decode_events(item.payload)]
            elif parsed[1] is Channel.STATUS:
                self.statuses.append((item, station_id, _decode(protocol.Status,
                                                                item.payload)))
            elif parsed[1] is Channel.SYNC:
                _decode(protocol.SyncRequest, item.payload)
                self.syncs.append((item, station_id))
            else:
                return False
        except ProtocolError:
            return False  # _ingest drops it, in its turn
        return True

    def __bool__(self) -> bool:
        return bool(self.events or self.statuses or self.syncs)


class Dispatcher:
    """Ingests agent messages in arrival order and publishes plans and acks.

    Plan pushes go first: an emergency for 10,000 stations must not wait behind a backlog of
    events. Messages of one kind that arrive together are written together. What the worker
    sends (plans, acks) goes out on its own connection, written by its own thread (sender.py);
    `link` receives, and carries what other threads publish (commands, broker administration).
    """

    def __init__(self, *, db: Database, login: BrokerLogin, timing: DispatchTiming,
                 dynsec: bool = False) -> None:
        self.db = db
        self.timing = timing
        self.inbox: queue.Queue[Work | None] = queue.Queue()
        extra = [DYNSEC_RESPONSE_TOPIC] if dynsec else []
        self.link = SchedulerLink(login, self.inbox, extra_subscriptions=extra)
        self.sender = Sender(login)
        self.counters: Counter[str] = Counter()
        self._pushes: set[int] = set()
        self._pushes_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.link.start()

    def stop(self) -> None:
        self.link.stop()
        self.inbox.put(None)
        self._thread.join(timeout=15)

    @property
    def connected(self) -> bool:
        """Both connections to the broker are up."""
        return self.link.connected and self.sender.connected

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish a QoS 1 message (used for broker administration)."""
        self.link.publish(topic, payload)

    def send_command(self, station_id: int, command: protocol.Command) -> None:
        """Publish a command to one station (QoS 1, not retained: it is for now)."""
        self.link.publish(protocol.station_topic(str(station_id), Channel.COMMAND),
                          protocol.encode(command))

    def push_plans(self, station_ids: Iterable[int]) -> None:
        """Ask the worker to send these stations their whole plan, ahead of what it ingests."""
        ids = set(station_ids)
        if ids:
            with self._pushes_lock:
                self._pushes |= ids
            self.inbox.put(WAKE)

    def _run(self) -> None:
        self.sender.open()
        try:
            self._work()
        finally:
            self.sender.close()

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._push_waiting()
            acks: dict[int, list[str]] = defaultdict(list)
            gathered = Gathered()
            for item in batch:
                try:
                    if isinstance(item, Wake) or gathered.add(item):
                        continue
                    before, gathered = gathered, Gathered()
                    self._write(before, acks)  # what came before is handled first
                    if isinstance(item, Incoming):
                        self._ingest(item, acks)
                except Exception:  # the loop must survive anything one message does
                    log.exception("dispatcher failed on %r", item)
                    self.counters["errors"] += 1
            self._write(gathered, acks)
            self._send_acks(acks)
            self.sender.flush()

    def _next_batch(self) -> list[Work] | None:
        """Block for one item, then take whatever else is already waiting (up to BATCH);
        while nothing comes, keep the sending connection serviced."""
        while True:
            try:
                first = self.inbox.get(timeout=IDLE_SERVICE_S)
                break
            except queue.Empty:
                self.sender.service()
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

    def _push_waiting(self) -> None:
        """Publish the plans asked for; if that fails (the database is away), ask again with
        the next batch rather than lose the push — and never let it stop the worker."""
        with self._pushes_lock:
            ids, self._pushes = frozenset(self._pushes), set()
        if not ids:
            return
        try:
            self._publish_plans(ids)
        except Exception:
            log.exception("could not push the plans of %d station(s); will try again", len(ids))
            self.counters["errors"] += 1
            with self._pushes_lock:
                self._pushes |= ids

    def _write(self, gathered: Gathered, acks: dict[int, list[str]]) -> None:
        """Store gathered events and statuses, then answer the sync requests."""
        if not gathered:
            return
        self._ingest_events(gathered.events, acks)
        self._ingest_statuses(gathered.statuses, acks)
        if gathered.syncs:
            self._push_waiting()
            try:
                self._publish_plans(frozenset(sid for _, sid in gathered.syncs))
            except Exception:  # unacknowledged: the broker hands them back on reconnect
                log.exception("could not answer %d sync request(s)", len(gathered.syncs))
                self.counters["errors"] += 1
                return
            for message, _ in gathered.syncs:
                self.link.ack(message)

    def _ingest_statuses(self, statuses: list[tuple[Incoming, int, protocol.Status]],
                         acks: dict[int, list[str]]) -> None:
        if not statuses:
            return
        try:
            with self.db.session() as session:
                stations.record_statuses(session=session,
                                         reports=[(sid, status) for _, sid, status in statuses])
        except Exception:
            log.warning("batch of %d statuses failed; retrying one by one", len(statuses),
                        exc_info=True)
            self.counters["batch_retries"] += 1
            for message, _, _ in statuses:
                self._ingest_one(message, acks)
            return
        for message, _, _ in statuses:
            self.link.ack(message)

    def _ingest_events(self, events: list[Report], acks: dict[int, list[str]]) -> None:
        """Commit the waiting events in one transaction, then ack them in order."""
        if not events:
            return
        try:
            with self.db.session() as session:
                outcomes = ledger.apply_events(
                    session=session, reports=[(r.station_id, r.event) for r in events])
                clocks: dict[int, stations.ClockReading | None] = {}
                for report in events:  # the latest clock each station reported wins
                    clock = stations.clock_reading(report.event)
                    if clock is not None or report.station_id not in clocks:
                        clocks[report.station_id] = clock
                stations.touch_many(session=session, clocks=clocks)
        except Exception:  # e.g. another replica stored one of them: take them one by one
            log.warning("batch of %d events failed; retrying one by one", len(events),
                        exc_info=True)
            self.counters["batch_retries"] += 1
            for message in _messages(events):
                self._ingest_one(message, acks)
            return
        for report, outcome in zip(events, outcomes, strict=True):
            self.counters["duplicates" if outcome is ledger.Outcome.DUPLICATE else "events"] += 1
            if outcome is ledger.Outcome.FOREIGN:
                self.counters["foreign_events"] += 1
            acks[report.station_id].append(report.event.event_id)
        for message in _messages(events):
            self.link.ack(message)  # once per message: a batch's events share one

    def _ingest_one(self, message: Incoming, acks: dict[int, list[str]]) -> None:
        try:
            self._ingest(message, acks)
        except Exception:
            log.exception("dispatcher failed on %r", message)
            self.counters["errors"] += 1

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
            for event in protocol.decode_events(payload):
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
                           clock=stations.clock_reading(event))
            # apply_event loaded the playback, so this asks the identity map, not the database
            foreign = fresh and getattr(session.get(Playback, event.playback_id), "station_id",
                                        None) != station_id
        self.counters["events" if fresh else "duplicates"] += 1
        if foreign:
            self.counters["foreign_events"] += 1  # kept as evidence, applied to nothing

    def _on_status(self, station_id: int, status: protocol.Status) -> None:
        with self.db.session() as session:
            stations.record_statuses(session=session, reports=[(station_id, status)])

    def _send_acks(self, acks: dict[int, list[str]]) -> None:
        """Tell each agent which of its events are committed (QoS 0: it resends the rest)."""
        for station_id, event_ids in acks.items():
            for start in range(0, len(event_ids), 1000):
                ack = protocol.Ack(event_ids=event_ids[start:start + 1000])
                self.sender.publish(protocol.station_topic(str(station_id), Channel.ACK),
                                    protocol.encode(ack), qos=0)

    def _publish_plans(self, station_ids: frozenset[int]) -> None:
        # One query per few hundred stations: an emergency to 10,000 stations must not wait
        # for 10,000 round trips before the first plan goes out.
        now = utcnow()
        began = time.monotonic()
        with self.db.session() as session, _collector_paused(len(station_ids) >= MANY_PLANS):
            for count, (station_id, plan) in enumerate(build_plans(
                    session=session, station_ids=station_ids, now=now,
                    late_grace=self.timing.late_grace, horizon=self.timing.horizon), 1):
                topic = protocol.station_topic(str(station_id), Channel.PLAN)
                self.sender.publish(topic, protocol.encode(plan), retain=True)
                self.counters["plans"] += 1
                if count % SERVICE_EVERY == 0:  # take in the PUBACKs, write what waits
                    self.sender.service(reconnect=False)  # (not with a transaction open)
        self.sender.flush()
        if len(station_ids) >= MANY_PLANS:  # an emergency to many: say how long it took
            log.info("published %d plans in %.0f ms", len(station_ids),
                     (time.monotonic() - began) * 1000)


@contextmanager
def _collector_paused(pause: bool) -> Iterator[None]:
    """No cyclic garbage collection while a push of many plans runs (if pause).

    The push allocates tens of objects per plan, which set off the collector's full passes
    over the whole process (two per 10,000-station push, 0.3-0.4 s in all, with the GIL held:
    every thread of the scheduler stood still). Reference counting frees the plans as they
    go; the collector runs again after the push.
    """
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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
        # every integer the ledger stores is a 32-bit column
        if isinstance(value, int) and not -DB_INT - 1 <= value <= DB_INT:
            raise ProtocolError(f"{model.__name__}.{name} is out of range")
    return message


def _messages(reports: list[Report]) -> list[Incoming]:
    """The MQTT messages the reports came in, each once, in order."""
    return list({id(r.message): r.message for r in reports}.values())


def _station_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None
