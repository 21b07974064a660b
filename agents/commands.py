"""Immediate commands from the scheduler: each carried out once and answered once.

A command is recorded by id before it is carried out, so one the broker delivers again (QoS 1
after a reconnect or a restart) is answered again with the stored result, never carried out
twice. A result is published at QoS 1 at once when connected; while disconnected it waits in
memory and goes out on the next connect. Results are not kept in the outbox: a lost one is
only a missing confirmation (the effect shows in events and status), and the scheduler may
send the command again, which gets the stored answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from agents.link import Link
from agents.outputs import Gain
from agents.player import Player, ToneRequest
from agents.store import Store
from wardcast.protocol import (
    Channel,
    Command,
    CommandHeader,
    CommandResult,
    CommandType,
    ProtocolError,
    decode,
    encode,
    utcnow,
)

log = logging.getLogger(__name__)

VOLUME_KEY = "volume_percent"
DETAIL_MAX = 500


class InvalidArgs(ValueError):
    """A command's arguments are missing or out of range; the message says which."""


def load_gain(store: Store) -> Gain:
    """Return the station's volume as last set by a command (100 % when never set)."""
    stored = store.setting(VOLUME_KEY)
    return Gain(float(stored) if stored is not None else 100.0)


class Commands:
    """Carries out the commands of the COMMAND channel and answers them."""

    def __init__(self, *, store: Store, link: Link, player: Player, gain: Gain,
                 resync: Callable[[], None]) -> None:
        self._store = store
        self._link = link
        self._player = player
        self._gain = gain
        self._resync = resync
        self._unsent: list[bytes] = []

    def recover(self) -> None:
        """Answer the commands a previous run received but never finished."""
        for command_id in self._store.unanswered_commands():
            self._answer(command_id, False, "the agent restarted before the command finished")

    def flush(self) -> None:
        """Publish the results that waited for a connection (on each connect)."""
        unsent, self._unsent = self._unsent, []
        for payload in unsent:
            self._send(payload)

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
        elif command.type is CommandType.STOP:
            stopped = self._player.stop(f"stopped by command {command.command_id}")
            answer(True, f"stopped {stopped}" if stopped else "nothing was playing")
        elif command.type is CommandType.VOLUME:
            percent = _number(command.args, "percent", 0, 100)
            self._gain.percent = percent
            self._store.set_setting(VOLUME_KEY, repr(percent))
            answer(True, f"volume {percent:g}%")
        elif command.type is CommandType.TEST_TONE:
            seconds = _number(command.args, "seconds", 1, 30, default=5)
            hz = _number(command.args, "hz", 50, 8000, default=1000)
            self._player.play_tone(ToneRequest(command.command_id, hz=hz, seconds=seconds,
                                               done=answer))
        else:  # a type this protocol module knows but this agent does not carry out
            answer(False, "unknown command")

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
        self._send(stored)

    def _answer(self, command_id: str, ok: bool, detail: str) -> None:
        """Record a command's result and publish it."""
        result = CommandResult(command_id=command_id, ok=ok, at=utcnow(),
                               detail=detail[:DETAIL_MAX])
        payload = encode(result)
        self._store.finish_command(command_id, payload)
        log.info("command %s %s: %s", command_id, "done" if ok else "refused", detail)
        self._send(payload)

    def _send(self, payload: bytes) -> None:
        if self._link.connected:
            self._link.publish(Channel.COMMAND_RESULT, payload)
        else:
            self._unsent.append(payload)


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
