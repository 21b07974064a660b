"""An in-memory Store: the agent's durable state, minus the disk, for thousands of stations.

A simulated station keeps its plan, playback records and outbox in a few dicts instead of
a SQLite file: 10,000 SQLite databases (or fsyncs) in one process would measure the disk,
not the protocol. Confirmed events are forgotten at once (nothing reads a simulated
station's proof of play), so memory stays bounded by what is pending.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from simulate.stats import Stats
from wardcast.protocol import Event, EventType, PlanItem, utcnow


@dataclass(slots=True)
class _Record:
    downloaded: bool = False
    started: bool = False
    final: str | None = None
    position_ms: int | None = None


@dataclass(slots=True)
class _Outgoing:
    payload: bytes
    published_at: datetime | None = None


class MemoryStore:
    """The agent's Store over dicts; nothing survives the process, by design.

    What a station records is what the simulator counts: events by type, and how far each
    start was from its slot.
    """

    def __init__(self, stats: Stats | None = None) -> None:
        self._stats = stats or Stats()
        self._plan: dict[int, PlanItem] = {}
        self._records: dict[int, _Record] = {}
        self._outbox: dict[str, _Outgoing] = {}  # insertion order is event order
        self._commands: dict[str, bytes | None] = {}
        self._settings: dict[str, str] = {}

    def close(self) -> None:
        """Nothing to close."""

    # --- the plan -------------------------------------------------------------------------

    def replace_plan(self, items: list[PlanItem]) -> list[PlanItem]:
        """Make items the whole pending plan; return those that were not in it before."""
        played = {pid for pid, r in self._records.items() if r.final or r.started}
        wanted = [item for item in items if item.playback_id not in played]
        before = self._plan
        self._plan = {item.playback_id: item for item in wanted}
        return [item for item in wanted if item.playback_id not in before]

    def pending(self) -> list[PlanItem]:
        """Return the plan items not yet played, earliest first."""
        return sorted(self._plan.values(), key=lambda i: (i.scheduled_at, i.playback_id))

    def is_pending(self, playback_id: int) -> bool:
        """Tell whether a playback is still in the plan and not played."""
        return playback_id in self._plan

    # --- local playback records -------------------------------------------------------------

    def _record(self, playback_id: int) -> _Record:
        return self._records.setdefault(playback_id, _Record())

    def mark_downloaded(self, playback_id: int) -> bool:
        """Record that a playback's media is cached; return False if it already was."""
        record = self._record(playback_id)
        first, record.downloaded = not record.downloaded, True
        return first

    def is_downloaded(self, playback_id: int) -> bool:
        """Tell whether a playback's media was recorded as cached."""
        record = self._records.get(playback_id)
        return bool(record and record.downloaded)

    def mark_started(self, playback_id: int) -> None:
        """Record that a playback started (so it is never started again)."""
        record = self._record(playback_id)
        record.started, record.position_ms = True, 0

    def save_position(self, playback_id: int, position_ms: int) -> None:
        """Record how far a playing item got."""
        if (record := self._records.get(playback_id)) is not None:
            record.position_ms = position_ms

    def mark_final(self, playback_id: int, state: str) -> None:
        """Record a playback's final state and drop it from the plan."""
        self._record(playback_id).final = state
        self._plan.pop(playback_id, None)

    def final_state(self, playback_id: int) -> str | None:
        """Return a playback's final state, if it has one."""
        record = self._records.get(playback_id)
        return None if record is None else record.final

    def started_unfinished(self) -> list[tuple[int, int | None]]:
        """Return nothing: a simulated station never restarts with a started item."""
        return []

    # --- the outbox ---------------------------------------------------------------------

    def add_event(self, event: Event, payload: bytes) -> None:
        """Keep an event until the scheduler confirms it; count it."""
        self._stats.events[event.type.value] += 1
        if event.type is EventType.STARTED and (item := self._plan.get(event.key)):
            self._stats.start_error((event.at - item.scheduled_at).total_seconds() * 1000)
        self._outbox.setdefault(event.event_id, _Outgoing(payload))

    def unconfirmed(self) -> list[tuple[str, bytes]]:
        """Return (event id, payload) of every unconfirmed event, oldest first."""
        return [(event_id, out.payload) for event_id, out in self._outbox.items()]

    def published_before(self, instant: datetime) -> list[tuple[str, bytes]]:
        """Return unconfirmed events the broker last took before an instant, oldest first."""
        return [(event_id, out.payload) for event_id, out in self._outbox.items()
                if out.published_at is not None and out.published_at < instant]

    def unconfirmed_count(self) -> int:
        """Return how many events the scheduler has not confirmed yet."""
        return len(self._outbox)

    def mark_published(self, event_id: str) -> None:
        """Record when the broker last acknowledged an event."""
        if (out := self._outbox.get(event_id)) is not None:
            out.published_at = utcnow()

    def confirm(self, event_ids: Iterable[str]) -> int:
        """Forget events the scheduler committed; return how many were ours."""
        return sum(self._outbox.pop(event_id, None) is not None for event_id in event_ids)

    def prune_events(self, older_than: timedelta) -> int:
        """Nothing to prune: confirmed events are not kept."""
        return 0

    # --- commands and settings ----------------------------------------------------------

    def begin_command(self, command_id: str, type_: str) -> bool:
        """Record a command as received; return False when it was received before."""
        if command_id in self._commands:
            return False
        self._commands[command_id] = None
        return True

    def command_result(self, command_id: str) -> bytes | None:
        """Return the result a command was answered with, None while it has none."""
        return self._commands.get(command_id)

    def finish_command(self, command_id: str, result: bytes) -> None:
        """Record the result of a command."""
        self._commands[command_id] = result

    def unanswered_commands(self) -> list[str]:
        """Return the ids of commands received but never answered."""
        return [command_id for command_id, result in self._commands.items() if result is None]

    def setting(self, key: str) -> str | None:
        """Return one of the station's own settings, if set."""
        return self._settings.get(key)

    def set_setting(self, key: str, value: str) -> None:
        """Store one of the station's own settings."""
        self._settings[key] = value

    def transaction(self) -> AbstractContextManager[None]:
        """Nothing to group: every change here is already atomic on the one loop thread."""
        return nullcontext()
