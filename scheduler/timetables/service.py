"""Create, list and delete timetables; their playbacks are planned by the planner."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.bulletins import service as bulletins
from scheduler.db import in_list
from scheduler.errors import InvalidInput, NotFound
from scheduler.instants import said_at
from scheduler.playbacks.models import Playback
from scheduler.programmes import service as programmes
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.streams import service as streams
from scheduler.timetables import recurrence, targets
from scheduler.timetables.models import Timetable
from scheduler.timetables.schemas import TimetableCreate, TimetableUpdate
from scheduler.users.models import User
from scheduler.words import station_en, station_vi
from wardcast.protocol import utcnow


class TimetableNotFound(NotFound):
    code = "timetable_not_found"


def create(*, session: Session, data: TimetableCreate, by: User, default_zone: str) -> Timetable:
    """Validate and store a timetable (the planning layer checks and plans its playbacks)."""
    timetable = Timetable(created_at=utcnow(), created_by_id=by.id)
    chosen = _apply(session=session, timetable=timetable, data=data, default_zone=default_zone,
                    user=by)
    session.add(timetable)
    session.flush()
    targets.write(session=session, timetable=timetable, targets=chosen,
                  direct=data.station_ids, group_ids=data.group_ids)
    return timetable


def update(*, session: Session, timetable_id: int, change: TimetableUpdate,
           default_zone: str, by: User) -> Timetable:
    """Change a timetable (the planning layer re-plans its future playbacks)."""
    timetable = get(session=session, timetable_id=timetable_id, user=by)
    given = change.model_fields_set
    bulletin_id, programme_id = timetable.bulletin_id, timetable.programme_id
    stream_id, duration_s = timetable.stream_id, timetable.duration_s
    if any(x is not None for x in (change.bulletin_id, change.programme_id, change.stream_id)):
        bulletin_id, programme_id = change.bulletin_id, change.programme_id
        stream_id, duration_s = change.stream_id, change.duration_s
    elif change.duration_s is not None:
        if stream_id is None:
            raise InvalidInput("duration_s chỉ dùng khi tiếp âm (stream_id) — duration_s goes "
                               "only with stream_id", field="duration_s")
        duration_s = change.duration_s  # a relay's new length
    try:
        merged = _merged(change=change, given=given, timetable=timetable,
                         session=session, bulletin_id=bulletin_id, programme_id=programme_id,
                         stream_id=stream_id, duration_s=duration_s)
    except ValidationError as exc:  # the change and what it keeps make no valid timetable
        first = exc.errors()[0]
        raise InvalidInput(str(first["msg"]).removeprefix("Value error, "),
                           field=".".join(str(p) for p in first["loc"]) or None) from exc
    chosen = _apply(session=session, timetable=timetable, data=merged,
                    default_zone=default_zone, check_past="starts_at" in given, user=by)
    targets.write(session=session, timetable=timetable, targets=chosen,
                  direct=merged.station_ids, group_ids=merged.group_ids)
    session.flush()
    return timetable


def _merged(*, change: TimetableUpdate, given: set[str],
            timetable: Timetable, session: Session, bulletin_id: int | None,
            programme_id: int | None, stream_id: int | None,
            duration_s: int | None) -> TimetableCreate:
    """The timetable as the change leaves it, validated as a new one would be."""
    return TimetableCreate(
        bulletin_id=bulletin_id, programme_id=programme_id, stream_id=stream_id,
        duration_s=duration_s,
        station_ids=change.station_ids if change.station_ids is not None else
        targets.direct_ids(session=session, timetable=timetable),
        group_ids=change.group_ids if change.group_ids is not None else
        targets.group_ids(session=session, timetable=timetable),
        starts_at=change.starts_at if change.starts_at else _given_start(timetable),
        recurrence=change.recurrence if "recurrence" in given else timetable.recurrence,
        until=change.until if "until" in given else timetable.until,
        priority=change.priority or timetable.priority)


def _given_start(timetable: Timetable) -> datetime:
    if timetable.floating:
        return datetime.fromisoformat(timetable.starts_at_local)
    return timetable.starts_at


def _apply(*, session: Session, timetable: Timetable, data: TimetableCreate,
           default_zone: str, user: User, check_past: bool = True) -> list[Station]:
    """Check and set a timetable's fields; return the stations it is to play on."""
    if data.programme_id is not None:
        programmes.get_schedulable(session=session, programme_id=data.programme_id)
    elif data.stream_id is not None:
        streams.get(session=session, stream_id=data.stream_id)
    else:
        assert data.bulletin_id is not None  # the schema asks for exactly one
        bulletins.get_approved(session=session, bulletin_id=data.bulletin_id)
    chosen = targets.resolve(session=session, station_ids=data.station_ids,
                             group_ids=data.group_ids, user=user)
    floating = data.starts_at.tzinfo is None
    wall = data.starts_at.replace(tzinfo=None)
    starts_at = (recurrence.to_utc(wall, ZoneInfo(default_zone)) if floating
                 else data.starts_at.astimezone(UTC))
    until = _until(data.until, default_zone)
    if data.recurrence is not None:
        zone = ZoneInfo(default_zone)
        recurrence.check_rule(data.recurrence, dtstart=wall,
                              not_before=utcnow().astimezone(zone).replace(tzinfo=None),
                              until=until.astimezone(zone).replace(tzinfo=None) if until else None)
    elif check_past:
        _check_future(chosen, wall=wall, starts_at=starts_at, floating=floating)
    if until is not None and until < starts_at:
        raise InvalidInput("Ngày kết thúc trước ngày bắt đầu — until is before starts_at",
                           field="until")
    timetable.bulletin_id = data.bulletin_id
    timetable.programme_id = data.programme_id
    timetable.stream_id, timetable.duration_s = data.stream_id, data.duration_s
    timetable.starts_at = starts_at
    timetable.starts_at_local = wall.isoformat()
    timetable.floating = floating
    timetable.recurrence = data.recurrence.strip() if data.recurrence else None
    timetable.until = until
    timetable.priority = data.priority.value
    return chosen


def _until(value: datetime | None, default_zone: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return recurrence.to_utc(value, ZoneInfo(default_zone))
    return value.astimezone(UTC)


def _check_future(targets: list[Station], *, wall: datetime, starts_at: datetime,
                  floating: bool) -> None:
    now = utcnow()
    for station in targets:
        instant = recurrence.to_utc(wall, ZoneInfo(station.timezone)) if floating else starts_at
        if instant <= now:
            when = said_at(instant, station.timezone)
            raise InvalidInput(
                f"Thời điểm phát {when} (giờ của {station_vi(station.name)}) đã qua — "
                f"starts_at {when} is in the past at {station_en(station.name)}",
                field="starts_at")


def _live(session: Session, timetable_id: int) -> Timetable:
    timetable = session.get(Timetable, timetable_id)
    if timetable is None or timetable.deleted_at is not None:
        raise TimetableNotFound(f"Không tìm thấy lịch phát {timetable_id} — timetable not found",
                                field="timetable_id")
    return timetable


def get(*, session: Session, timetable_id: int, user: User | None = None) -> Timetable:
    """Return a live timetable to change; a ward-limited user only one whose stations are
    all theirs."""
    timetable = _live(session, timetable_id)
    if user is not None and not all(user.may_touch(s.ward) for s in timetable.stations):
        raise stations.OutsideWards("Lịch phát này còn phát ở trạm thuộc phường ngoài phạm vi "
                                    "của bạn — this timetable also plays on stations outside "
                                    "your wards", field="timetable_id")
    return timetable


def visible(*, session: Session, timetable_id: int, user: User) -> Timetable:
    """Return a live timetable to read: a ward-limited user's must play in one of their
    wards (what it plays elsewhere is theirs to see only as a count, see `own_stations`)."""
    timetable = _live(session, timetable_id)
    if timetable.stations and not any(user.may_touch(s.ward) for s in timetable.stations):
        raise stations.OutsideWards("Lịch phát này không phát ở phường nào của bạn — this "
                                    "timetable plays in none of your wards",
                                    field="timetable_id")
    return timetable


def own_stations(timetable: Timetable, wards: frozenset[str] | None
                 ) -> tuple[list[Station], int]:
    """Return the timetable's stations in these wards (all, for None) and how many others
    it plays on: a ward-limited user may know that much of other wards, not which."""
    own = [s for s in timetable.stations if wards is None or s.ward in wards]
    return own, len(timetable.stations) - len(own)


def planned(*, session: Session, timetable: Timetable, station_ids: list[int] | None) -> int:
    """Count the playbacks planned for a timetable (on these stations only, if given)."""
    query = select(func.count()).where(Playback.timetable_id == timetable.id)
    if station_ids is not None:
        query = query.where(in_list(session, Playback.station_id, station_ids))
    return session.scalar(query) or 0


def delete(*, session: Session, timetable_id: int, by: User) -> Timetable:
    """Mark a timetable deleted (the caller cancels its future playbacks)."""
    timetable = get(session=session, timetable_id=timetable_id, user=by)
    timetable.deleted_at = utcnow()
    return timetable


def active(*, session: Session, now: datetime) -> list[Timetable]:
    """Return the timetables that may still produce playbacks."""
    query = select(Timetable).where(Timetable.deleted_at.is_(None)).where(
        (Timetable.until.is_(None)) | (Timetable.until >= now))
    return list(session.scalars(query))


def listing(*, session: Session, limit: int, offset: int,
            wards: frozenset[str] | None = None) -> tuple[list[Timetable], int]:
    """Return a page of live timetables (touching the given wards, if any), newest first."""
    query = select(Timetable).where(Timetable.deleted_at.is_(None))
    if wards is not None:
        query = query.where(Timetable.stations.any(Station.ward.in_(sorted(wards))))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Timetable.id.desc()).limit(limit).offset(offset))
    return list(rows), total
