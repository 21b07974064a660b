"""Start, find, stop live sessions, and keep what was said as a bulletin.

A session is three rows made together: the session, its stream (kind `live`: its mount on
the streaming server) and a broadcast of that stream to its stations, made by the broadcasts'
own use case, so that agents get it as a relay item, and the ledger, the reports and the
stop path treat it as any broadcast. The transcoder that feeds the mount belongs to the
running scheduler (scheduler/live/ingest.py, driven by scheduler/live/control.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.audit.service import Actor
from scheduler.broadcasts import fanout, stopping
from scheduler.broadcasts import service as broadcasts
from scheduler.broadcasts.models import Broadcast
from scheduler.broadcasts.schemas import BroadcastCreate
from scheduler.bulletins import service as bulletins
from scheduler.bulletins.storage import MediaStore
from scheduler.errors import Conflict, DomainError, Forbidden, NotFound
from scheduler.live.models import ERROR_LENGTH, LiveSession, RecordingState, StopReason
from scheduler.live.schemas import LiveCreate
from scheduler.playbacks import reasons
from scheduler.stations import service as stations
from scheduler.streams.models import Stream, StreamKind, StreamState
from scheduler.users.models import Role, User
from wardcast.protocol import utcnow

KEY_PREFIX = "wcl_"  # like every wardcast token: the access log hides it (accesslog.py)
ENDED = reasons.LIVE_ENDED  # the reason code of the playbacks a stopped session ended
LANGUAGE = "vi"
STARTED, STOPPED, RECORDED = "live.start", "live.stop", "live.record"  # audit actions


class LiveNotFound(NotFound):
    code = "live_not_found"


class BadKey(Forbidden):
    code = "live_bad_key"


class LiveStopped(Conflict):
    code = "live_stopped"


class NotYourLive(Forbidden):
    code = "not_your_live"


@dataclass(frozen=True)
class Started:
    """A stored session, its ingest key (said once) and its broadcast."""

    live: LiveSession
    key: str
    created: broadcasts.Created


def title(at: datetime, zone: str) -> str:
    """The name of a session's stream and the title of its recording, in local time."""
    return f"Phát trực tiếp {at.astimezone(ZoneInfo(zone)):%H:%M %d/%m/%Y}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def may_listen(session: Session, mount: str, station_id: int) -> bool:
    """Tell whether a station may hear a mount now: the mount is a live session's that has
    not stopped, and the station is one of its broadcast's targets."""
    found = session.execute(
        select(LiveSession.stopped_at, Broadcast)
        .join(Broadcast, Broadcast.id == LiveSession.broadcast_id)
        .where(LiveSession.mount == mount.lstrip("/"))).first()
    if found is None or found[0] is not None:
        return False
    targets = fanout.targets_of(found[1])
    return targets is None or station_id in targets


def start(*, session: Session, data: LiveCreate, by: User, actor: Actor,
          listen_url: Callable[[str], str], max_s: int, zone: str,
          replica: str | None) -> Started:
    """Store a session, its stream and its broadcast (to the stations named one by one, and
    the members of the groups, with the user's ward limits as for any broadcast); the
    stations' plans go out once the session commits."""
    now = utcnow()
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    name = title(now, zone)
    stream = Stream(name=name, name_key=f"live-{secrets.token_hex(8)}", url="http://pending/",
                    state=StreamState.UNCHECKED.value, kind=StreamKind.LIVE.value,
                    created_at=now, created_by_id=by.id, updated_at=now)
    session.add(stream)
    session.flush()
    live = LiveSession(mount=stream.name_key, key_hash=hash_key(key), stream_id=stream.id,
                       priority=data.priority.value, created_by_id=by.id, replica=replica,
                       started_at=now, recording_state=RecordingState.RECORDING.value)
    session.add(live)
    session.flush()
    # unguessable: nobody finds a mount by counting, even with a station's token
    live.mount = stream.name_key = f"live-{live.id}-{secrets.token_hex(6)}.ogg"
    stream.url = listen_url(live.mount)
    created = broadcasts.create(session=session, by=by, live=True, data=BroadcastCreate(
        stream_id=stream.id, duration_s=max_s, station_ids=data.station_ids,
        group_ids=data.group_ids, priority=data.priority, valid_minutes=max_s / 60))
    live.broadcast_id = created.broadcast.id
    session.flush()
    audit.record(session=session, actor=actor, action=STARTED, target_type="live_session",
                 target_id=live.id, mount=live.mount, broadcast_id=live.broadcast_id,
                 priority=live.priority, stations=created.station_ids,
                 group_ids=data.group_ids)
    return Started(live, key, created)


def get(*, session: Session, live_id: int) -> LiveSession:
    """Return a session or raise LiveNotFound."""
    live = session.get(LiveSession, live_id)
    if live is None:
        raise LiveNotFound(f"Không tìm thấy phiên phát trực tiếp {live_id} — live session not "
                           "found", field="live_id")
    return live


def with_key(*, session: Session, live_id: int, key: str) -> LiveSession:
    """Return the session this key is for, or raise LiveNotFound or BadKey."""
    live = get(session=session, live_id=live_id)
    if not hmac.compare_digest(live.key_hash, hash_key(key)):
        raise BadKey("Khoá phát trực tiếp không đúng — wrong ingest key for this live session",
                     field="key")
    return live


def check_open(live: LiveSession) -> None:
    """Refuse a source for a session that has stopped."""
    if not live.live:
        raise LiveStopped(f"Phiên phát trực tiếp {live.id} đã dừng — the live session has "
                          "stopped", field="live_id")


def listing(*, session: Session, limit: int, offset: int,
            live_only: bool = False) -> tuple[list[LiveSession], int]:
    """Return a page of sessions, newest first, and the total."""
    query = select(LiveSession)
    if live_only:
        query = query.where(LiveSession.stopped_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(LiveSession.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def station_ids(session: Session, live: LiveSession) -> list[int]:
    """The stations a session speaks to (its broadcast's targets)."""
    broadcast = session.get(Broadcast, live.broadcast_id) if live.broadcast_id else None
    targets = fanout.targets_of(broadcast) if broadcast is not None else frozenset()
    return sorted(targets) if targets is not None else []


def open_sessions(*, session: Session, replica: str | None) -> list[LiveSession]:
    """The sessions a replica left open (its process died with them)."""
    same = (LiveSession.replica.is_(None) if replica is None
            else LiveSession.replica == replica)
    return list(session.scalars(select(LiveSession).where(LiveSession.stopped_at.is_(None), same)
                                .order_by(LiveSession.id)))


def check_may_stop(*, session: Session, live: LiveSession, user: User) -> None:
    """Who may stop a session: its creator, an approver or an admin; one limited to some
    wards only a session all of whose stations are theirs."""
    if user.id == live.created_by_id:
        return
    if user.role_enum not in (Role.ADMIN, Role.APPROVER):
        raise NotYourLive("Chỉ người bắt đầu phiên, người duyệt hoặc quản trị viên mới được "
                          "dừng phát trực tiếp — only who started it, an approver or an admin "
                          "may stop a live session")
    if user.wards is not None:
        stations.checked_ids(session=session, station_ids=station_ids(session, live),
                             field="live_id", user=user)


def stop(*, session: Session, live_id: int, by: User | None, actor: Actor, reason: StopReason,
         now: datetime) -> stopping.Stopped | None:
    """Stop a session: its broadcast's open playbacks end (`live_ended`: cancelled before
    they started, the others cut by a STOP to each station, sent once committed). Stopping
    a stopped session does nothing (None)."""
    live = session.get(LiveSession, live_id, with_for_update=True)
    if live is None:
        raise LiveNotFound(f"Không tìm thấy phiên phát trực tiếp {live_id} — live session not "
                           "found", field="live_id")
    if not live.live:
        return None
    live.stopped_at, live.stop_reason = now, reason.value
    live.stopped_by_id = by.id if by is not None else None
    live.recording_state = RecordingState.PROCESSING.value
    stopped = None
    authority = by or (session.get(User, live.created_by_id) if live.created_by_id else None)
    if live.broadcast_id is not None and authority is not None:
        try:
            stopped = stopping.stop(session=session, broadcast_id=live.broadcast_id,
                                    by=authority, actor=actor, now=now, reason=ENDED)
        except DomainError:  # nothing of it open any more (every station's span is over)
            stopped = None
    audit.record(session=session, actor=actor, action=STOPPED, target_type="live_session",
                 target_id=live.id, reason=reason.value, broadcast_id=live.broadcast_id)
    return stopped


def keep_recording(*, session: Session, live_id: int, recording: Path | None,
                   store: MediaStore, zone: str, target_lufs: float,
                   true_peak: float) -> LiveSession:
    """Make what was said a pending bulletin, as any upload is made one (the file is
    consumed); a session with nothing said keeps none."""
    live = get(session=session, live_id=live_id)
    author = session.get(User, live.created_by_id) if live.created_by_id else None
    if recording is None or author is None:
        if recording is not None:
            recording.unlink(missing_ok=True)
        live.recording_state = RecordingState.EMPTY.value
        return live
    try:  # what fails, fails processing the audio, before anything is written
        bulletin = bulletins.create_from_upload(
            session=session, store=store, upload=recording, filename=None,
            title=title(live.started_at, zone), language=LANGUAGE, category=None,
            by=author, target_lufs=target_lufs, true_peak=true_peak)
    except DomainError as exc:  # too short, silent …: said on the session, not raised
        live.recording_state = RecordingState.FAILED.value
        live.recording_error = str(exc)[:ERROR_LENGTH]
        return live
    live.recording_state = RecordingState.KEPT.value
    live.recording_bulletin_id = bulletin.id
    audit.record(session=session, actor=Actor(user_id=author.id, username=author.username),
                 action=RECORDED, target_type="bulletin", target_id=bulletin.id,
                 live_session_id=live.id, title=bulletin.title, sha256=bulletin.sha256,
                 duration_ms=bulletin.duration_ms)
    return live
