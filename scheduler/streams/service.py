"""Add, change, check and delete stream sources; each change is audited in its transaction.

A stream is probed before it is stored (service callers pass the prober: probe.probe with the
settings' listening time). Streams are the city's, not a ward's: a user limited to some wards
may add streams and change or delete those they added.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.broadcasts.models import Broadcast
from scheduler.bulletins import service as bulletins
from scheduler.catalogue.matching import fold
from scheduler.errors import Conflict, Forbidden, InvalidInput, NotFound
from scheduler.playbacks.models import Playback
from scheduler.streams import urls
from scheduler.streams.models import Stream, StreamKind, StreamState
from scheduler.streams.probe import Finding
from scheduler.streams.schemas import StreamCreate, StreamUpdate
from scheduler.timetables.models import Timetable
from scheduler.users.models import User
from wardcast.protocol import utcnow

Prober = Callable[[urls.Source], Finding]
FLAGGED = (StreamState.SILENT.value, StreamState.UNREACHABLE.value)


class StreamNotFound(NotFound):
    code = "stream_not_found"


class StreamUnreachable(InvalidInput):
    code = "stream_unreachable"


def get(*, session: Session, stream_id: int, live: bool = False) -> Stream:
    """Return a stream or raise StreamNotFound; a live session's only when live is asked
    for (its session's broadcast), never to the streams' own routes or a timetable."""
    stream = session.get(Stream, stream_id)
    if stream is None or (stream.kind == StreamKind.LIVE.value and not live):
        raise StreamNotFound(f"Không tìm thấy nguồn tiếp âm {stream_id} — stream not found",
                             field="stream_id")
    return stream


def listing(*, session: Session, limit: int = 1000, offset: int = 0) -> tuple[list[Stream], int]:
    """Return a page of streams by name, and the total (live sessions' are not listed)."""
    relays = Stream.kind == StreamKind.RELAY.value
    total = session.scalar(select(func.count()).select_from(Stream).where(relays)) or 0
    rows = session.scalars(select(Stream).where(relays).order_by(Stream.name_key, Stream.id)
                           .limit(limit).offset(offset))
    return list(rows), total


def flagged(*, session: Session) -> list[Stream]:
    """The streams that were silent or unreachable at their last check."""
    return list(session.scalars(select(Stream).where(Stream.state.in_(FLAGGED),
                                                     Stream.kind == StreamKind.RELAY.value)
                                .order_by(Stream.state_since, Stream.id)))


def source_of(stream: Stream) -> urls.Source:
    return urls.Source(url=stream.url, username=stream.username, password=stream.password)


def create(*, session: Session, data: StreamCreate, by: User, actor: audit.Actor,
           prober: Prober) -> Stream:
    """Probe a stream and store it (one that cannot be reached only when allowed)."""
    # nothing is written until the probe is done: on SQLite a write (a token's last use,
    # pending in the request's session) would hold the database's lock for seconds
    with session.no_autoflush:
        name, key = _name(session, data.name, stream_id=None)
        source = urls.parse(data.url, username=data.username, password=data.password)
        _check_filler(session, data.filler_bulletin_id)
        finding = _probed(prober, source, allow_unreachable=data.allow_unreachable)
    now = utcnow()
    stream = Stream(name=name, name_key=key, url=source.url, username=source.username,
                    password=source.password, filler_bulletin_id=data.filler_bulletin_id,
                    created_at=now, created_by_id=by.id, updated_at=now)
    record(stream, finding, now=now)
    session.add(stream)
    session.flush()
    audit.record(session=session, actor=actor, action="stream.create", target_type="stream",
                 target_id=stream.id, **_said(stream))
    return stream


def update(*, session: Session, stream_id: int, change: StreamUpdate, by: User,
           actor: audit.Actor, prober: Prober) -> Stream:
    """Rename, move or re-credential a stream; a new address or login is probed first, and
    nothing changes unless everything is accepted."""
    given = change.model_fields_set
    with session.no_autoflush:  # as in create: no write before the probe
        stream = get(session=session, stream_id=stream_id)
        _check_may_change(stream, by)
        name = (_name(session, change.name, stream_id=stream.id) if change.name is not None
                else (stream.name, stream.name_key))
        if "filler_bulletin_id" in given:
            _check_filler(session, change.filler_bulletin_id)
        source = _new_source(stream, change)
        finding = (_probed(prober, source, allow_unreachable=change.allow_unreachable)
                   if source != source_of(stream) else None)
    stream.name, stream.name_key = name
    if "filler_bulletin_id" in given:
        stream.filler_bulletin_id = change.filler_bulletin_id
    if finding is not None:
        stream.url, stream.username, stream.password = (source.url, source.username,
                                                        source.password)
        record(stream, finding, now=utcnow())
    stream.updated_at = utcnow()
    session.flush()
    audit.record(session=session, actor=actor, action="stream.update", target_type="stream",
                 target_id=stream.id, **_said(stream), changed=sorted(given))
    return stream


def check(*, session: Session, stream_id: int, actor: audit.Actor, prober: Prober) -> Stream:
    """Probe a stream now and keep what was found."""
    with session.no_autoflush:  # as in create: no write before the probe
        stream = get(session=session, stream_id=stream_id)
        finding = prober(source_of(stream))
    record(stream, finding, now=utcnow())
    audit.record(session=session, actor=actor, action="stream.check", target_type="stream",
                 target_id=stream.id, name=stream.name, state=stream.state)
    return stream


class StreamInUse(Conflict):
    code = "stream_in_use"


def delete(*, session: Session, stream_id: int, by: User, actor: audit.Actor) -> None:
    """Delete a stream nothing names; one a timetable or the ledger names is kept (the log
    shows its name), as a bulletin that was scheduled is archived rather than deleted."""
    stream = get(session=session, stream_id=stream_id)
    _check_may_change(stream, by)
    if _named(session, stream.id):
        raise StreamInUse(f"Nguồn tiếp âm «{stream.name}» đã có trong lịch phát hoặc nhật ký "
                          "phát: không xoá được vì nhật ký cần tên của nó — stream "
                          f"'{stream.name}' is named by a timetable or the playback log and "
                          "cannot be deleted: the log needs its name", field="stream_id")
    session.delete(stream)
    audit.record(session=session, actor=actor, action="stream.delete", target_type="stream",
                 target_id=stream.id, name=stream.name, url=stream.url)


def _named(session: Session, stream_id: int) -> bool:
    """Tell whether a timetable (even a deleted one), a broadcast or a playback names it."""
    return any(session.scalar(select(column).where(column == stream_id).limit(1)) is not None
               for column in (Timetable.stream_id, Broadcast.stream_id, Playback.stream_id))


def record(stream: Stream, finding: Finding, *, now: datetime) -> bool:
    """Keep what a probe found; return whether the state changed (its time is kept too)."""
    changed = stream.state != finding.state.value
    if changed or stream.state_since is None:
        stream.state, stream.state_since = finding.state.value, now
    stream.checked_at = now
    stream.last_error = finding.error[:500] if finding.error else None
    if finding.codec is not None:  # an unreachable stream keeps what it was last heard as
        stream.codec, stream.bitrate_kbps = finding.codec, finding.bitrate_kbps
        stream.sample_rate, stream.channels = finding.sample_rate, finding.channels
    return changed


def _probed(prober: Prober, source: urls.Source, *, allow_unreachable: bool) -> Finding:
    finding = prober(source)
    if finding.state is StreamState.UNREACHABLE and not allow_unreachable:
        vi, _, en = (finding.error or "").partition(" — ")
        raise StreamUnreachable(f"Không mở được luồng: {vi}. Kiểm tra địa chỉ, hoặc chọn lưu "
                                f"cả khi luồng đang không truy cập được — the stream could not "
                                f"be opened: {en}. Check the address, or save it anyway with "
                                f"allow_unreachable", field="url")
    return finding


def _new_source(stream: Stream, change: StreamUpdate) -> urls.Source:
    """The address and login after a change: an empty username removes the login, a
    username without a password keeps the password."""
    given = change.model_fields_set
    if change.url is not None and urls.has_login(change.url):
        return urls.parse(change.url)  # the login typed into the new address wins
    username = change.username if "username" in given else stream.username
    password = change.password if "password" in given else None
    if password is None and username and username == stream.username:
        password = stream.password
    return urls.parse(change.url if change.url is not None else stream.url,
                      username=username or None, password=password if username else None)


def _name(session: Session, raw: str, *, stream_id: int | None) -> tuple[str, str]:
    name = " ".join(raw.split())
    key = fold(name)
    if not key:
        raise InvalidInput("Tên nguồn tiếp âm cần có chữ hoặc số — the name needs letters or "
                           "digits", field="name")
    other = session.scalar(select(Stream).where(Stream.name_key == key[:120]))
    if other is not None and other.id != stream_id:
        raise Conflict(f"Đã có nguồn tiếp âm «{other.name}» — a stream named '{other.name}' "
                       "already exists", field="name", code="name_taken")
    return name, key[:120]


def _check_filler(session: Session, bulletin_id: int | None) -> None:
    if bulletin_id is not None:
        bulletins.get_approved(session=session, bulletin_id=bulletin_id,
                               field="filler_bulletin_id")


def _check_may_change(stream: Stream, user: User) -> None:
    if user.wards is not None and stream.created_by_id != user.id:
        raise Forbidden("Nguồn tiếp âm dùng chung cho cả thành phố: chỉ người đã thêm nó hoặc "
                        "người không bị giới hạn phường mới được sửa hay xoá — streams are the "
                        "whole city's: only who added it, or a user not limited to some wards, "
                        "may change or delete it", code="not_your_stream")


def _said(stream: Stream) -> dict[str, object]:
    """What the audit log keeps of a stream: never its password."""
    return {"name": stream.name, "url": stream.url, "username": stream.username,
            "has_credentials": stream.has_credentials, "state": stream.state,
            "filler_bulletin_id": stream.filler_bulletin_id}
