"""What the scheduler orders at once: commands to this station, urgent messages to its groups.

A command (stop, volume, test tone, resync) is recorded by id before it is carried out, so
one the broker delivers again (QoS 1 after a reconnect or a restart) is answered again with
the stored result, never carried out twice. Results are not kept in the outbox: a lost one is
only a missing confirmation (the effect shows in events and status), and the scheduler may
send the command again.

An emergency for a ward, a group or everyone is one message the broker fans out
(protocol.Urgent). The agent reads the urgent topics of the groups its plan lists and the
fleet's; it acts on a group's message only while its latest plan says it belongs to that
group (the broker's ACL says the same, as a second lock). A message carries all the agent
needs to play at once: the item, its media, its window. Its playbacks are kept under the
broadcast's keys, which the plan uses for the same broadcast once its rows are written, so
the urgent message and the plan never play it twice.

A plan made before the message was sent does not list the broadcast yet: replacing the plan
with it must not drop the broadcast, so items the message brought stay until a plan made
well after it says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from agents.link import Link, Reporter
from agents.output import Output, ToneRequest
from agents.player import Player
from agents.store import Store
from wardcast.protocol import (
    DB_INT,
    FLEET_TOPIC,
    Command,
    CommandHeader,
    CommandResult,
    CommandType,
    Plan,
    PlanItem,
    ProtocolError,
    Urgent,
    UrgentAction,
    decode,
    encode,
    group_topic,
    parse_group_topic,
    stop_reason,
    utcnow,
)

log = logging.getLogger(__name__)

VOLUME_KEY = "volume_percent"
DETAIL_MAX = 500

GROUPS_KEY = "groups"  # the groups of the latest plan, kept across restarts
RENEW_S = (5.0, 30.0)  # after a change of groups, their topics are asked for again
# A plan made this soon after a broadcast's start may predate its rows: it keeps the items
# the broadcast's own message brought (the scheduler writes the rows in well under a second).
ROWS_SETTLE = timedelta(seconds=30)


class Groups:
    """The groups a station belongs to, as its latest plan says, and their topics."""

    def __init__(self, *, store: Store, link: Link) -> None:
        self._store = store
        self._link = link
        kept = store.setting(GROUPS_KEY)
        self._groups: frozenset[int] = frozenset(json.loads(kept)) if kept else frozenset()
        link.follow(self.topics())

    def topics(self) -> set[str]:
        """The urgent topics to read: the fleet's and each group's."""
        return {FLEET_TOPIC} | {group_topic(g) for g in self._groups}

    def follow(self, groups: list[int]) -> None:
        """Take the groups of a new plan: keep them, read their topics and no others.

        The broker may learn of a new member a moment after its plan came (a reload): the
        topics are asked for again a little later, in case it refused them at first."""
        if frozenset(groups) == self._groups:
            return
        self._groups = frozenset(groups)
        self._store.set_setting(GROUPS_KEY, json.dumps(sorted(self._groups)))
        self._link.follow(self.topics())
        log.info("member of group(s) %s", sorted(self._groups) or "none")
        with contextlib.suppress(RuntimeError):  # no loop: nothing to ask again later
            for delay in RENEW_S:
                asyncio.get_running_loop().call_later(delay, self._renew)

    def _renew(self) -> None:
        self._link.follow(self.topics())

    def admits(self, topic: str) -> bool:
        """Tell whether a message on this topic is for this station."""
        if topic == FLEET_TOPIC:
            return True
        group = parse_group_topic(topic)
        return group is not None and group in self._groups


def read(topic: str, payload: bytes, groups: Groups) -> Urgent | None:
    """Return the urgent message that starts a broadcast here; None for a message not for
    this station (a group it does not belong to) or not understood (raises ProtocolError)."""
    if not groups.admits(topic):
        log.warning("ignored an urgent message on %s: not a group of this station", topic)
        return None
    message = decode(Urgent, payload)
    if message.action is not UrgentAction.START:
        log.warning("ignored urgent %s of broadcast %d: not supported by this agent",
                    message.action.value, message.broadcast_id)
        return None
    log.info("urgent broadcast %d on %s", message.broadcast_id, topic)
    return message


def merged(plan: Plan, pending: list[PlanItem]) -> list[PlanItem]:
    """A new plan's items, as the agent keeps them, with the broadcast items an urgent
    message brought that the plan cannot know of yet (made before their rows were)."""
    items = [item.keyed() for item in plan.items]
    known = {item.playback_id for item in items}
    kept = [item for item in pending
            if item.broadcast_id is not None and item.playback_id not in known
            and plan.generated_at < item.scheduled_at + ROWS_SETTLE]
    return items + kept


class InvalidArgs(ValueError):
    """A command's arguments are missing or out of range; the message says which."""


class Commands:
    """Carries out the commands of the COMMAND channel and answers them."""

    def __init__(self, *, store: Store, reporter: Reporter, player: Player, output: Output,
                 resync: Callable[[], None]) -> None:
        self._store = store
        self._reporter = reporter
        self._player = player
        self._output = output
        self._resync = resync

    def recover(self) -> None:
        """Take the volume last set; answer commands a previous run never finished."""
        stored = self._store.setting(VOLUME_KEY)
        self._output.volume = float(stored) if stored is not None else 100.0
        for command_id in self._store.unanswered_commands():
            self._answer(command_id, False, "the agent restarted before the command finished")

    def handle(self, payload: bytes) -> None:
        """Carry out a command once, or answer a repeated one again."""
        try:
            command = decode(Command, payload)
        except ProtocolError as exc:
            self._refuse(payload, exc)
            return
        if not self._store.begin_command(command.command_id, command.type.value):
            self._repeat(command.command_id)
            return
        log.info("command %s: %s %s", command.command_id, command.type.value, command.args)
        try:
            self._execute(command)
        except InvalidArgs as exc:
            self._answer(command.command_id, False, f"invalid args: {exc}")
        except Exception as exc:  # a bad command must not take the agent down
            log.exception("command %s failed", command.command_id)
            self._answer(command.command_id, False, f"agent_error: {exc}")

    def _execute(self, command: Command) -> None:
        answer = partial(self._answer, command.command_id)
        if command.type is CommandType.RESYNC:
            self._resync()
            answer(True, "plan requested")
        elif command.type is CommandType.STOP and "broadcast_id" in command.args:
            broadcast_id = int(_number(command.args, "broadcast_id", 1, DB_INT))
            said = f"broadcast stopped by command {command.command_id}"
            code = stop_reason(command.args)  # e.g. live_ended: the ledger words it
            stopped, dropped = self._stop_broadcast(
                broadcast_id, f"{code}: {said}" if code else said)
            answer(True, f"broadcast {broadcast_id}: "
                   + (f"stopped {stopped}" if stopped else "not playing")
                   + f", {dropped} waiting repeat(s) dropped")
        elif command.type is CommandType.STOP:
            stopped = self._player.stop(f"stopped by command {command.command_id}")
            answer(True, f"stopped {stopped}" if stopped else "nothing was playing")
        elif command.type is CommandType.VOLUME:
            percent = _number(command.args, "percent", 0, 100)
            self._output.volume = percent
            self._store.set_setting(VOLUME_KEY, repr(percent))
            answer(True, f"volume {percent:g}%")
        elif command.type is CommandType.TEST_TONE:
            seconds = _number(command.args, "seconds", 1, 30, default=5)
            hz = _number(command.args, "hz", 50, 8000, default=1000)
            self._player.play_tone(ToneRequest(command.command_id, hz=hz, seconds=seconds,
                                               done=answer))
        else:  # a type this protocol module knows but this agent does not carry out
            answer(False, "unknown command")

    def _stop_broadcast(self, broadcast_id: int, reason: str) -> tuple[str | None, int]:
        """Stop a broadcast here: cut it if it is what plays, drop its waiting repeats;
        return what was cut (or None) and how many repeats were dropped."""
        playing = self._player.now_playing
        pending = self._store.pending()
        cut = any(i.playback_id == playing and i.broadcast_id == broadcast_id for i in pending)
        # what plays stays in the plan until it reports how it ended
        kept = [item for item in pending
                if item.broadcast_id != broadcast_id or item.playback_id == playing]
        if len(kept) != len(pending):
            self._store.replace_plan(kept)
        stopped = self._player.stop(reason) if cut else None
        self._player.wake()
        return stopped, len(pending) - len(kept)

    def _refuse(self, payload: bytes, error: ProtocolError) -> None:
        """Answer a command that does not parse, when it at least has an id."""
        identified = _identify(payload)
        if identified is None:
            log.warning("dropped a malformed cmd message: %s", error)
            return
        command_id, kind = identified
        if not self._store.begin_command(command_id, kind):
            self._repeat(command_id)
            return
        known = kind in {member.value for member in CommandType}
        self._answer(command_id, False, f"invalid command: {error}" if known
                     else "unknown command")

    def _repeat(self, command_id: str) -> None:
        """Answer a command seen before with the result it got, if it has one yet."""
        stored = self._store.command_result(command_id)
        if stored is None:
            log.info("command %s again while still being carried out", command_id)
            return
        log.info("command %s again: answered again, not carried out twice", command_id)
        self._reporter.answer(stored)

    def _answer(self, command_id: str, ok: bool, detail: str) -> None:
        """Record a command's result and publish it."""
        result = CommandResult(command_id=command_id, ok=ok, at=utcnow(),
                               detail=detail[:DETAIL_MAX])
        payload = encode(result)
        self._store.finish_command(command_id, payload)
        log.info("command %s %s: %s", command_id, "done" if ok else "refused", detail)
        self._reporter.answer(payload)


def _identify(payload: bytes) -> tuple[str, str] | None:
    """Return (command id, type) of an invalid command, when it names an id."""
    try:
        header = decode(CommandHeader, payload)
    except ProtocolError:
        return None
    return header.command_id, header.type


def _number(args: dict[str, Any], name: str, low: float, high: float, *,
            default: float | None = None) -> float:
    """Return a numeric argument within [low, high], or raise InvalidArgs."""
    value = args.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            low <= value <= high):
        raise InvalidArgs(f"{name} must be a number from {low:g} to {high:g}")
    return float(value)
