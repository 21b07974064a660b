"""One worker thread that owns ingestion and plan pushes, so they never race each other."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel

from scheduler.broadcasts import fanout
from scheduler.broker.accounts import DYNSEC_RESPONSE_TOPIC, log_dynsec_response
from scheduler.controls import service as controls
from scheduler.db import Database
from scheduler.dispatch.client import BrokerLogin, Incoming, SchedulerLink
from scheduler.dispatch.plans import build_plans
from scheduler.dispatch.sender import Sender
from scheduler.playbacks import ledger
from scheduler.stations import service as stations
from wardcast import protocol
from wardcast.protocol import DB_INT, Channel, ProtocolError, utcnow

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

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
    syncs: list[tuple[Incoming, int, protocol.SyncRequest]] = field(default_factory=list)

    def add(self, item: Work) -> bool:
        """Take a well-formed event, status or sync request; False for anything else."""
        if not isinstance(item, Incoming):
            return False
        parsed = protocol.parse_station_topic(item.topic)
        station_id = _station_id(parsed[0]) if parsed else None
        if parsed is None or station_id is None:
            return False
        try:
            return self.take(item, station_id, parsed[1])
        except ProtocolError:
            return False  # _ingest drops it, in its turn

    def take(self, message: Incoming, station_id: int, channel: Channel) -> bool:
        """Take a message of a channel gathered here (False for another channel); raise
        ProtocolError if it cannot be read."""
        if channel is Channel.EVENTS:
            self.events += [Report(message, station_id, event)
                            for event in protocol.decode_events(message.payload)]
        elif channel is Channel.STATUS:
            self.statuses.append((message, station_id, _decode(protocol.Status,
                                                               message.payload)))
        elif channel is Channel.SYNC:
            self.syncs.append((message, station_id,
                               _decode(protocol.SyncRequest, message.payload)))
        else:
            return False
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
        """Publish a QoS 1 message now, from any thread: a broadcast's group message, broker
        administration."""
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
        self._ingest_statuses(gathered.statuses)
        if gathered.syncs:
            self._push_waiting()
            try:
                with self.db.session() as session:  # what each agent can do, before its plan
                    stations.record_features(session=session, features={
                        sid: request.features for _, sid, request in gathered.syncs})
                self._publish_plans(frozenset(sid for _, sid, _ in gathered.syncs))
            except Exception:  # unacknowledged: the broker hands them back on reconnect
                log.exception("could not answer %d sync request(s)", len(gathered.syncs))
                self.counters["errors"] += 1
                return
            for message, _, _ in gathered.syncs:
                self.link.ack(message)

    def _ingest_statuses(self, statuses: list[tuple[Incoming, int, protocol.Status]]) -> None:
        if not statuses:
            return
        try:
            self._store_statuses(statuses)
        except Exception:
            log.warning("batch of %d statuses failed; retrying one by one", len(statuses),
                        exc_info=True)
            self._one_by_one(self._store_statuses, [[status] for status in statuses])

    def _store_statuses(self, statuses: list[tuple[Incoming, int, protocol.Status]]) -> None:
        """Commit statuses in one transaction, then ack their messages in order."""
        with self.db.session() as session:
            stations.record_statuses(
                session=session,
                reports=[(sid, status) for m, sid, status in statuses if not m.retained],
                replayed=[(sid, status) for m, sid, status in statuses if m.retained],
                heard_since=self.link.up_since())
        for message, _, _ in statuses:
            self.link.ack(message)

    def _ingest_events(self, events: list[Report], acks: dict[int, list[str]]) -> None:
        """Commit the waiting events in one transaction, then ack them in order."""
        if not events:
            return
        try:
            self._store_events(events, acks)
        except Exception:  # e.g. another replica stored one of them: take them one by one
            log.warning("batch of %d events failed; retrying one by one", len(events),
                        exc_info=True)
            self._one_by_one(lambda one: self._store_events(one, acks),
                             [[r for r in events if r.message is message]
                              for message in _messages(events)])

    def _one_by_one(self, store: Callable[[list[T]], None], batches: list[list[T]]) -> None:
        """After a batch failed, store each message's part in a transaction of its own (a
        duplicate stored meanwhile is then seen as one); a part that fails again stays
        unacknowledged, and the broker hands it back after a reconnect."""
        self.counters["batch_retries"] += 1
        for batch in batches:
            try:
                store(batch)
            except Exception:
                log.exception("dispatcher failed on %r", batch)
                self.counters["errors"] += 1

    def _store_events(self, events: list[Report], acks: dict[int, list[str]]) -> None:
        """Commit events in one transaction, then ack their messages in order."""
        with self.db.session() as session:
            reports = fanout.name_playbacks(  # a fanned-out broadcast's: by broadcast, repeat
                session=session, reports=[(r.station_id, r.event) for r in events])
            outcomes = ledger.apply_events(session=session, reports=reports)
            clocks: dict[int, stations.ClockReading | None] = {}
            for report in events:  # the latest clock each station reported wins
                clock = stations.clock_reading(report.event)
                if clock is not None or report.station_id not in clocks:
                    clocks[report.station_id] = clock
            stations.touch_many(session=session, clocks=clocks)
        for report, outcome in zip(events, outcomes, strict=True):
            self.counters["duplicates" if outcome is ledger.Outcome.DUPLICATE else "events"] += 1
            if outcome is ledger.Outcome.FOREIGN:
                self.counters["foreign_events"] += 1
            acks[report.station_id].append(report.event.event_id)
        for message in _messages(events):
            self.link.ack(message)  # once per message: a batch's events share one

    def _ingest(self, message: Incoming, acks: dict[int, list[str]]) -> None:
        """Take one message: a broker's answer, a command's result, or a batch of one."""
        if message.topic == DYNSEC_RESPONSE_TOPIC:
            log_dynsec_response(message.payload)
            self.link.ack(message)
            return
        parsed = protocol.parse_station_topic(message.topic)
        station_id = _station_id(parsed[0]) if parsed else None
        if parsed is None or station_id is None:
            self._drop(message, "unknown topic")
            return
        one = Gathered()
        try:
            if parsed[1] is Channel.COMMAND_RESULT:
                result = protocol.decode(protocol.CommandResult, message.payload)
                with self.db.session() as session:
                    controls.record_result(session=session, station_id=station_id,
                                           result=result)
            elif not one.take(message, station_id, parsed[1]):
                raise ProtocolError(f"agents do not publish on {parsed[1].value}")
        except ProtocolError as exc:
            self._drop(message, str(exc))
            return
        if one:
            self._write(one, acks)  # it acks the message once stored
        else:
            self.link.ack(message)

    def _drop(self, message: Incoming, why: str) -> None:
        self.counters["dropped"] += 1
        log.warning("dropped message on %s: %s", message.topic, why)
        self.link.ack(message)

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
        with self.db.session() as session:
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
