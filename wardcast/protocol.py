"""The MQTT protocol between the scheduler and ward agents: topics and payloads.

This is the only module that knows topic strings and payload shapes; both sides import it.
It must stay light (pydantic only) because the agent imports it. See docs/protocol.md.

Timestamps are UTC on the wire, ISO 8601 with a ``Z`` suffix. Every timestamp an agent sends
is its own clock's; it says how far that clock is from the scheduler's (``clock_offset_ms``,
positive when the agent is behind: ``server_time ≈ agent_time + clock_offset_ms``) and how
sure it is of that (``clock_uncertainty_ms``: the true offset is within that of the reported).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

PROTOCOL_VERSION = 1
TOPIC_ROOT = "wardcast/stations"
QOS = 1
MAX_PAYLOAD_BYTES = 256 * 1024
SCHEDULER_CLIENT_ID = "wardcast-scheduler"
# An agent that lost the broker tries again after 1, 2, 4 … seconds, never waiting longer than
# this: a station whose link works is back within this long of the broker coming back.
RECONNECT_MAX_S = 60


class Channel(StrEnum):
    """The last level of a station topic: ``wardcast/stations/{station_id}/{channel}``."""

    PLAN = "plan"  # scheduler -> agent: the whole pending plan (replaces the previous one)
    COMMAND = "cmd"  # scheduler -> agent: immediate commands
    SYNC = "sync"  # agent -> scheduler: "send me my whole plan" (on every (re)connect)
    EVENTS = "events"  # agent -> scheduler: playback events
    STATUS = "status"  # agent -> scheduler: retained availability, also the last will
    ACK = "ack"  # scheduler -> agent: these events are stored; the agent may forget them
    COMMAND_RESULT = "cmd-result"  # agent -> scheduler: what became of a command


AGENT_SUBSCRIBES = (Channel.PLAN, Channel.COMMAND, Channel.ACK)
AGENT_PUBLISHES = (Channel.SYNC, Channel.EVENTS, Channel.STATUS, Channel.COMMAND_RESULT)


def station_topic(station_id: str, channel: Channel) -> str:
    """Return the topic of one station's channel."""
    return f"{TOPIC_ROOT}/{station_id}/{channel.value}"


# Urgent traffic for many stations at once: one message the broker fans out, on the topic of
# a group (a ward is a group of kind "ward") or of the whole fleet. Only the scheduler
# publishes there; a station reads the topics of the groups its plan lists, and the fleet's.
GROUP_ROOT = "wardcast/groups"
FLEET_TOPIC = "wardcast/all/urgent"


ALL_GROUPS_TOPIC = f"{GROUP_ROOT}/+/urgent"  # every group's urgent topic (the scheduler's)


def group_topic(group_id: int) -> str:
    """Return the urgent topic of one group of stations."""
    return f"{GROUP_ROOT}/{group_id}/urgent"


def parse_group_topic(topic: str) -> int | None:
    """Return the group id of a group's urgent topic, or None when it is not one."""
    prefix = GROUP_ROOT + "/"
    if not topic.startswith(prefix) or not topic.endswith("/urgent"):
        return None
    middle = topic[len(prefix):-len("/urgent")]
    return int(middle) if middle.isdigit() and middle == str(int(middle)) else None


def scheduler_subscriptions() -> list[str]:
    """Return the topic filters the scheduler subscribes to."""
    return [f"{TOPIC_ROOT}/+/{channel.value}" for channel in AGENT_PUBLISHES]


SHARE_GROUP = "wardcast"


def scheduler_client_id(replica_id: str | None = None) -> str:
    """Return the scheduler's MQTT client id; each replica needs its own."""
    return f"{SCHEDULER_CLIENT_ID}-{replica_id}" if replica_id else SCHEDULER_CLIENT_ID


def sending_client_id(client_id: str) -> str:
    """Return the client id of a scheduler's publish-only connection, beside its own."""
    return f"{client_id}-out"


def shared_subscription(topic_filter: str, group: str = SHARE_GROUP) -> str:
    """Return the shared form of a filter: the broker hands each message to one member."""
    return f"$share/{group}/{topic_filter}"


def parse_station_topic(topic: str) -> tuple[str, Channel] | None:
    """Split a station topic into (station id, channel), or None when it is not one."""
    prefix = TOPIC_ROOT + "/"
    if not topic.startswith(prefix):
        return None
    rest = topic[len(prefix) :].split("/")
    if len(rest) != 2 or not rest[0]:
        return None
    try:
        return rest[0], Channel(rest[1])
    except ValueError:
        return None


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def to_wire(value: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with millisecond precision and a Z."""
    if value.tzinfo is None:
        raise ValueError("naive datetime on the wire")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


UtcDateTime = Annotated[AwareDatetime, PlainSerializer(to_wire, return_type=str)]


def to_wire_us(value: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with microseconds and a Z (clock readings)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime on the wire")
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# a clock reading: a millisecond step would be a millisecond of error in every offset
PreciseUtcDateTime = Annotated[AwareDatetime, PlainSerializer(to_wire_us, return_type=str)]
DB_INT = 2**31 - 1  # ids and counters fit the database's 32-bit integer columns
ClockOffsetMs = Annotated[int, Field(ge=-DB_INT, le=DB_INT)]
ClockUncertaintyMs = Annotated[int, Field(ge=0, le=DB_INT)]
CLOCK_LIMIT_MS = 1000  # a clock surely further off than this makes slots audibly early or late


def clock_off(offset_ms: int | None, uncertainty_ms: int | None) -> bool:
    """Tell whether a clock is surely over the limit: off by more than it might be wrong by.

    An offset without an uncertainty (from an older agent) is taken as exact.
    """
    if offset_ms is None:
        return False
    return abs(offset_ms) - (uncertainty_ms or 0) > CLOCK_LIMIT_MS


# The agent's HTTP routes, under the scheduler's API: its clock (HTTP, not MQTT: a round trip
# the agent times itself) and the media of its plan (Range, ETag), each plan item's media_path
API = "/api/v1"
TIME_PATH = f"{API}/agent/time"
MEDIA_PATH = f"{API}/media/{{sha256}}"


def media_path(sha256: str) -> str:
    """Return the HTTP path an agent downloads a distribution file from."""
    return MEDIA_PATH.format(sha256=sha256)


class ServerTime(BaseModel):
    """The answer of ``GET /api/v1/agent/time``: the scheduler's clock, NTP-style.

    ``receive_time`` is stamped as the request reaches the scheduler, ``transmit_time`` as
    the answer leaves it, so the time the scheduler held the request (waiting for a thread,
    checking the token) is no part of the round trip. ``server_time`` is their midpoint: an
    agent that reads only that (older agents) gets the same offset from one sample. Older
    schedulers send ``server_time`` alone, in milliseconds, stamped anywhere in the stay.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    server_time: PreciseUtcDateTime
    receive_time: PreciseUtcDateTime | None = None
    transmit_time: PreciseUtcDateTime | None = None


class Priority(StrEnum):
    NORMAL = "normal"
    PRIORITY = "priority"
    EMERGENCY = "emergency"


class EventType(StrEnum):
    ACCEPTED = "accepted"  # the item is in the agent's durable plan
    DOWNLOADED = "downloaded"  # its media is cached and verified
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    v: int = PROTOCOL_VERSION


MAX_REPEAT = 20  # repeats of one broadcast
SHA256_PATTERN = r"^[0-9a-f]{64}$"
MAX_MEDIA_PATH = 1000
MAX_URL = 2048
MAX_RELAY_MS = 24 * 3600 * 1000  # a relay spans at most a day


class Filler(BaseModel):
    """A bulletin an agent caches ahead and plays where a relayed stream fails."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sha256: str = Field(pattern=SHA256_PATTERN)
    media_path: str = Field(min_length=1, max_length=MAX_MEDIA_PATH)
    duration_ms: int = Field(ge=0, le=DB_INT)


LOGIN_STATION = "station"  # RelaySource.login: the agent logs in as its station


class RelaySource(BaseModel):
    """A live stream an agent relays: its URL (http or https; it may carry the station's
    credentials, which the agent never logs nor reports) and an optional filler.

    ``login``: how the agent logs in to the stream's server. ``"station"`` (LOGIN_STATION):
    HTTP basic auth with its station id and token — a live session's mount, which the
    streaming server lets only the session's stations hear; it is live speech, so the agent
    also listens with the least buffering. None (the default, and what older schedulers
    send): the URL's own credentials, if any. Older agents ignore the field; a value this
    agent does not know is treated as None."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    url: str = Field(min_length=1, max_length=MAX_URL, pattern=r"^[^\s\x00-\x1f\x7f]+$")
    filler: Filler | None = None
    login: str | None = Field(default=None, max_length=32)

    @model_serializer(mode="wrap")
    def _as_before(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # a relay without a login goes out byte for byte as before the field existed
        data: dict[str, Any] = handler(self)
        if data.get("login", "") is None:
            del data["login"]
        return data

    @property
    def station_login(self) -> bool:
        """Whether the agent logs in with its station id and token (a live session)."""
        return self.login == LOGIN_STATION

    @field_validator("url")
    @classmethod
    def _http_only(cls, url: str) -> str:
        # ffmpeg reads anything (file:, concat:, subfile: …): only a network stream is allowed
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("a relay's url is an http or https URL with a host")
        return url


class PlanItem(BaseModel):
    """One playback: a bulletin's media (bulletin_id, sha256, media_path) or a relay of a
    live stream for duration_ms (relay). An agent takes relays only if its SyncRequest
    announced FEATURE_RELAY: older agents refuse a plan holding one (their sha256 is
    required), so the scheduler must send relay items only to agents announcing it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    playback_id: int
    bulletin_id: int | None = None
    title: str = ""
    scheduled_at: UtcDateTime
    priority: Priority = Priority.NORMAL
    duration_ms: int = Field(ge=0)
    sha256: str | None = Field(default=None, pattern=SHA256_PATTERN)
    # path on the scheduler's HTTP server, e.g. /api/v1/media/{sha256}.opus
    media_path: str | None = None
    relay: RelaySource | None = None
    # An emergency: it interrupts whatever is playing, and may still start late (an agent
    # that connects after its slot) until play_until.
    preempt: bool = False
    play_until: UtcDateTime | None = None
    # A broadcast's playback is also named by its broadcast and repeat (0, 1 …): the agent
    # may hold it already from the broadcast's urgent message, before its row existed.
    broadcast_id: int | None = None
    repeat_index: int | None = Field(default=None, ge=0, lt=MAX_REPEAT)

    @model_validator(mode="after")
    def _bulletin_or_relay(self) -> PlanItem:
        media = (self.bulletin_id, self.sha256, self.media_path)
        if self.relay is None and None in media:
            raise ValueError("a plan item names its bulletin_id, sha256 and media_path")
        if self.relay is not None and media != (None, None, None):
            raise ValueError("a relay item names no bulletin, sha256 or media_path")
        if self.relay is not None and not 1 <= self.duration_ms <= MAX_RELAY_MS:
            raise ValueError(f"a relay lasts 1 ms to {MAX_RELAY_MS} ms")
        return self

    @model_serializer(mode="wrap")
    def _bulletin_as_before(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # a bulletin item goes out byte for byte as before relays existed
        data: dict[str, Any] = handler(self)
        if data.get("relay", "") is None:
            del data["relay"]
        return data

    @property
    def wanted_media(self) -> tuple[str, str] | None:
        """(sha256, media_path) the agent caches for the item: its bulletin's, or a relay's
        filler (a relay plays without it)."""
        if self.relay is None:
            assert self.sha256 is not None and self.media_path is not None  # the validator
            return self.sha256, self.media_path
        filler = self.relay.filler
        return None if filler is None else (filler.sha256, filler.media_path)

    @property
    def key(self) -> int:
        """What the agent keeps the item by: its playback id, or for a broadcast's playback
        the key of its broadcast and repeat (the same from the plan and the urgent message)."""
        if self.broadcast_id is not None and self.repeat_index is not None:
            return broadcast_key(self.broadcast_id, self.repeat_index)
        return self.playback_id

    def keyed(self) -> PlanItem:
        """The item as the agent keeps it: under its key (see key)."""
        key = self.key
        return self if key == self.playback_id else self.model_copy(update={"playback_id": key})


def broadcast_key(broadcast_id: int, repeat_index: int) -> int:
    """The agent's key of a broadcast's playback: negative, so never a playback id."""
    return -(broadcast_id * 32 + repeat_index)


def broadcast_ref(key: int) -> tuple[int, int] | None:
    """Return (broadcast id, repeat index) of an agent's key, or None for a playback id."""
    return divmod(-key, 32) if key < 0 else None


def broadcast_slots(*, starts_at: datetime, window: timedelta, duration_ms: int, gap_ms: int,
                    repeat: int) -> list[tuple[datetime, datetime]]:
    """(scheduled_at, play_until) of each repeat of a broadcast: one after another, each
    playable until its own start + the window. The scheduler's rows and the agents' items
    come from the same sum."""
    step = timedelta(milliseconds=duration_ms + gap_ms)
    return [(starts_at + k * step, starts_at + k * step + window) for k in range(repeat)]


class Plan(_Message):
    """The whole pending plan of one station; an agent replaces its plan with it.

    ``groups`` are the groups the station belongs to as the plan is made: the agent reads
    their urgent topics and acts on a group message only for these (older schedulers send
    none, and their agents read no group topic)."""

    station_id: str
    revision: int = 0
    generated_at: UtcDateTime
    horizon_end: UtcDateTime
    items: list[PlanItem]
    groups: list[int] = Field(default_factory=list, max_length=1000)


class UrgentAction(StrEnum):
    START = "start"  # play the item now, interrupting anything (an emergency)
    STOP = "stop"  # stop the broadcast where it is playing (it ends `interrupted`)
    CANCEL = "cancel"  # drop it where it has not started yet (it ends `cancelled`)


class UrgentItem(BaseModel):
    """What a member needs to play a broadcast without asking: its media and its window.

    Every member plays it from ``starts_at`` (``repeat`` times, ``gap_ms`` apart, each
    repeat starting no later than its own start + the window ``play_until - starts_at``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    bulletin_id: int
    title: str = ""
    priority: Priority = Priority.EMERGENCY
    duration_ms: int = Field(ge=0)
    sha256: str = Field(pattern=SHA256_PATTERN)
    media_path: str
    starts_at: UtcDateTime
    play_until: UtcDateTime
    repeat: int = Field(default=1, ge=1, le=MAX_REPEAT)
    gap_ms: int = Field(default=0, ge=0, le=DB_INT)
    # a member without the media waits a random part of this before asking for it, so the
    # members of a large group do not all ask the one scheduler in the same instant
    fetch_spread_ms: int = Field(default=0, ge=0, le=DB_INT)


class Urgent(_Message):
    """One publish on a group's or the fleet's topic, acted on by every member at once.

    The stations' playbacks of the broadcast are rows of the ledger like any other, made by
    the scheduler after the publish; the agents' events name them by broadcast and repeat."""

    broadcast_id: int = Field(ge=1, le=DB_INT)
    action: UrgentAction
    sent_at: UtcDateTime
    item: UrgentItem | None = None  # with START only

    @model_validator(mode="after")
    def _item_with_start_only(self) -> Urgent:
        if (self.item is not None) != (self.action is UrgentAction.START):
            raise ValueError("a start carries its item; a stop or a cancel carries none")
        return self

    def plan_items(self) -> list[PlanItem]:
        """The broadcast's playbacks at a member, as its plan would list them (no row ids:
        they are kept by broadcast and repeat)."""
        item = self.item
        if item is None:
            return []
        slots = broadcast_slots(starts_at=item.starts_at, window=item.play_until - item.starts_at,
                                duration_ms=item.duration_ms, gap_ms=item.gap_ms,
                                repeat=item.repeat)
        return [PlanItem(playback_id=broadcast_key(self.broadcast_id, k),
                         bulletin_id=item.bulletin_id, title=item.title, scheduled_at=start,
                         priority=item.priority, duration_ms=item.duration_ms,
                         sha256=item.sha256, media_path=item.media_path,
                         preempt=item.priority is Priority.EMERGENCY, play_until=until,
                         broadcast_id=self.broadcast_id, repeat_index=k)
                for k, (start, until) in enumerate(slots)]


FEATURE_GROUPS = "groups"  # the agent reads its groups' and the fleet's urgent topics
FEATURE_RELAY = "relay"  # the agent plays relay items (PlanItem.relay)


class SyncRequest(_Message):
    """An agent asks for its plan (on every connect), saying what it can do: an agent
    without FEATURE_GROUPS (older ones) gets every broadcast in its plan; one without
    FEATURE_RELAY must get no relay item (it would refuse the whole plan)."""

    boot_id: str
    sent_at: UtcDateTime
    agent_version: str = ""
    features: list[str] = Field(default_factory=list, max_length=20)


class Status(_Message):
    """Availability, retained; its ``offline`` form is also the agent's last will."""

    state: Literal["online", "offline"]
    boot_id: str
    at: UtcDateTime | None = None
    clock_offset_ms: ClockOffsetMs | None = None
    clock_uncertainty_ms: ClockUncertaintyMs | None = None
    now_playing: int | None = None  # playback id


class Event(_Message):
    """What happened to one playback, named by its id or, for a broadcast's playback, by its
    broadcast and repeat (the agent may have played it before its row existed)."""

    event_id: str = Field(min_length=8, max_length=64)
    playback_id: int | None = Field(default=None, ge=1, le=DB_INT)
    broadcast_id: int | None = Field(default=None, ge=1, le=DB_INT)
    repeat_index: int | None = Field(default=None, ge=0, lt=MAX_REPEAT)
    type: EventType
    at: UtcDateTime  # the agent's clock
    clock_offset_ms: ClockOffsetMs | None = None
    clock_uncertainty_ms: ClockUncertaintyMs | None = None
    boot_id: str = Field(default="", max_length=64)
    position_ms: int | None = Field(default=None, ge=0, le=DB_INT)  # how far playback got
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _names_one_playback(self) -> Event:
        by_broadcast = self.broadcast_id is not None and self.repeat_index is not None
        if (self.playback_id is None) == (not by_broadcast) or (
                self.playback_id is not None and self.broadcast_id is not None):
            raise ValueError("an event names its playback_id, or its broadcast_id and "
                             "repeat_index")
        return self

    @property
    def key(self) -> int:
        """The agent's key of the playback (see PlanItem.key)."""
        if self.broadcast_id is not None and self.repeat_index is not None:
            return broadcast_key(self.broadcast_id, self.repeat_index)
        assert self.playback_id is not None  # the validator saw to it
        return self.playback_id

    @classmethod
    def about(cls, key: int, **fields: Any) -> Event:
        """An event about the playback an agent keeps under ``key``."""
        ref = broadcast_ref(key)
        if ref is None:
            return cls(playback_id=key, **fields)
        return cls(broadcast_id=ref[0], repeat_index=ref[1], **fields)


MAX_BATCH_EVENTS = 100
MAX_BATCH_BYTES = 192 * 1024  # an event is at most ~2.3 KB: 100 of them fit below the limit


class EventBatch(_Message):
    """Several events in one message, oldest first: what an agent reported in one go.

    An ``events`` message is either one Event or an EventBatch (``decode_events`` takes
    both). A batch stands or falls as a whole: one malformed event drops the message.
    """

    events: list[Event] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)


def encode_event_batch(payloads: Sequence[bytes]) -> bytes:
    """Join encoded events into one message: a single event goes as it is."""
    if len(payloads) == 1:
        return payloads[0]
    return b'{"v":%d,"events":[%s]}' % (PROTOCOL_VERSION, b",".join(payloads))


def batches(items: Sequence[tuple[str, bytes]]) -> Iterator[list[tuple[str, bytes]]]:
    """Split (event id, encoded event) pairs, in order, into batches that fit one message."""
    batch: list[tuple[str, bytes]] = []
    size = 0
    for item in items:
        if batch and (len(batch) == MAX_BATCH_EVENTS or size + len(item[1]) > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += len(item[1]) + 1
    if batch:
        yield batch


class Ack(_Message):
    """The scheduler has committed these events; until then the agent keeps resending them."""

    event_ids: list[str] = Field(max_length=1000)


class CommandType(StrEnum):
    RESYNC = "resync"  # ask the agent to request its plan again
    # stop what is playing now (it ends `interrupted`); with args {"broadcast_id": N}, only
    # if it is that broadcast's, and drop its waiting repeats (a stopped emergency); an
    # optional {"reason": code} (STOP_REASON) starts the reason the agent reports
    STOP = "stop"
    VOLUME = "volume"  # args: {"percent": 0..100}, the gain applied to what is played
    TEST_TONE = "test_tone"  # args: {"seconds": 1..30, "hz": 1000}: a sine on the output


# A STOP's reason code, e.g. "live_ended" (a live session was stopped): the agent reports
# the cut playback `interrupted` with "<code>: broadcast stopped by command <id>". Older
# agents ignore it (their reason starts "broadcast stopped").
STOP_REASON = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def stop_reason(args: dict[str, Any]) -> str | None:
    """Return a STOP command's reason code, or None when it has none (or not a code)."""
    code = args.get("reason")
    return code if isinstance(code, str) and STOP_REASON.match(code) else None


class Command(_Message):
    command_id: str
    type: CommandType
    sent_at: UtcDateTime
    args: dict[str, Any] = Field(default_factory=dict)


class CommandHeader(_Message):
    """Just the id and type of a command, to answer one whose type or args are unknown."""

    command_id: str = Field(min_length=1, max_length=200)
    type: str = ""


class CommandResult(_Message):
    """The agent's answer to a command: done, or why not."""

    command_id: str
    ok: bool
    at: UtcDateTime  # the agent's clock
    detail: str | None = Field(default=None, max_length=500)


class ProtocolError(ValueError):
    """A payload that is not JSON, too large, or does not fit its schema."""


def encode(message: BaseModel) -> bytes:
    """Serialise a payload for the wire."""
    return message.model_dump_json().encode()


M = TypeVar("M", bound=BaseModel)


def decode(model: type[M], payload: bytes) -> M:
    """Parse a payload, raising ProtocolError on anything malformed."""
    _json(payload)
    return _validated(model, payload)


def decode_events(payload: bytes) -> list[Event]:
    """Parse an ``events`` message, one Event or an EventBatch, into its events."""
    data = _json(payload)
    if isinstance(data, dict) and "events" in data:
        return _validated(EventBatch, payload).events
    return [_validated(Event, payload)]


def _json(payload: bytes) -> Any:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"payload of {len(payload)} bytes is over {MAX_PAYLOAD_BYTES}")
    try:
        return json.loads(payload)
    except ValueError as exc:  # bad UTF-8, bad JSON, or an integer too long to parse
        raise ProtocolError(f"not JSON: {exc}") from exc
    except RecursionError as exc:  # "[[[[…" a hundred thousand deep fits in the size limit
        raise ProtocolError("JSON nested too deeply") from exc


def _validated(model: type[M], payload: bytes) -> M:
    try:
        # strict: "5" is not a playback id and 1764309600 is not a time
        return model.model_validate_json(payload, strict=True)
    except (ValidationError, ValueError) as exc:
        count = exc.error_count() if isinstance(exc, ValidationError) else 1
        raise ProtocolError(f"invalid {model.__name__}: {count} error(s)") from exc
