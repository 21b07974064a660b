"""Register stations, issue their tokens, resolve them, record their availability."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from typing import NamedTuple, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from scheduler import security
from scheduler.broker.passwords import mosquitto_hash
from scheduler.db import in_list
from scheduler.errors import Conflict, Forbidden, InvalidInput, NotFound
from scheduler.stations import availability
from scheduler.stations.models import Station
from scheduler.users.models import User
from wardcast.protocol import FEATURE_GROUPS, FEATURE_RELAY, Event, Status, utcnow


class StationNotFound(NotFound):
    code = "station_not_found"


def check_timezone(name: str, *, field: str = "timezone") -> str:
    """Return the zone name if it is a known IANA zone."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"Múi giờ không hợp lệ: {name} — unknown time zone",
                           field=field) from exc
    return name


def register(*, session: Session, name: str, ward: str, timezone: str) -> tuple[Station, str]:
    """Create a station and return it with its token (the only time the token is shown)."""
    if session.scalar(select(Station).where(Station.name == name)):
        raise Conflict(f"Trạm {name} đã tồn tại — station name already used", field="name")
    token = security.new_token("wcs")
    station = Station(name=name, ward=ward, timezone=check_timezone(timezone),
                      token_hash=security.token_hash(token), token_issued_at=utcnow(),
                      broker_password_hash=mosquitto_hash(token), created_at=utcnow())
    session.add(station)
    session.flush()
    return station, token


def rotate_token(*, session: Session, station_id: int,
                 user: User | None = None) -> tuple[Station, str]:
    """Issue a new token; the old one stops working."""
    station = get(session=session, station_id=station_id, user=user)
    token = security.new_token("wcs")
    station.token_hash = security.token_hash(token)
    station.token_issued_at = utcnow()
    station.broker_password_hash = mosquitto_hash(token)
    return station, token


def update(*, session: Session, station_id: int, user: User, name: str | None,
           timezone: str | None, quiet: tuple[time | None, time | None] | None) -> Station:
    """Rename a station, move it to another zone, or set its quiet hours."""
    station = get(session=session, station_id=station_id, user=user)
    if name is not None and name != station.name:
        if session.scalar(select(Station).where(Station.name == name)):
            raise Conflict(f"Trạm {name} đã tồn tại — station name already used", field="name")
        station.name = name
    if timezone is not None:
        station.timezone = check_timezone(timezone)
    if quiet is not None:
        if (quiet[0] is None) != (quiet[1] is None):
            raise InvalidInput("Giờ im lặng cần cả giờ bắt đầu và giờ kết thúc — quiet hours "
                               "need both quiet_start and quiet_end", field="quiet_end")
        station.quiet_start, station.quiet_end = quiet
    return station


def revoke(*, session: Session, station_id: int, user: User | None = None) -> Station:
    """Withdraw a station's token: it can no longer log in to the broker or fetch media."""
    station = get(session=session, station_id=station_id, user=user)
    station.token_hash = None
    station.token_issued_at = None
    station.broker_password_hash = None
    if station.online:
        availability.close(session=session, station_ids=[station.id], at=utcnow())
    station.online = False
    return station


class OutsideWards(Forbidden):
    """A ward-limited user reached for something of another ward. The message never names
    that ward (nor its stations): the user may not know what lies outside their own."""

    code = "outside_wards"


def check_ward(user: User | None, ward: str, *, field: str = "station_id") -> None:
    """Refuse a user limited to other wards."""
    if user is not None and not user.may_touch(ward):
        if field == "ward":  # the user named the ward themselves
            raise OutsideWards("Phường này nằm ngoài phạm vi của bạn — this ward is outside "
                               "your wards", field=field)
        raise OutsideWards("Trạm này thuộc phường ngoài phạm vi của bạn — this station is "
                           "outside your wards", field=field)


def wards(*, session: Session) -> list[str]:
    """Return every ward a station is in, by name."""
    return list(session.scalars(select(Station.ward).distinct().order_by(Station.ward)))


def ids_in_wards(*, session: Session, wards: frozenset[str]) -> list[int]:
    """Return the ids of the stations of these wards."""
    return list(session.scalars(select(Station.id).where(Station.ward.in_(sorted(wards)))
                                .order_by(Station.id)))


def get(*, session: Session, station_id: int, user: User | None = None) -> Station:
    """Return a station the user may see, or raise StationNotFound / Forbidden."""
    station = session.get(Station, station_id)
    if station is None:
        raise StationNotFound(f"Không tìm thấy trạm {station_id} — station not found",
                              field="station_id")
    check_ward(user, station.ward)
    return station


def get_many(*, session: Session, station_ids: list[int], field: str,
             user: User | None = None) -> list[Station]:
    """Return the stations with these ids, naming any that does not exist or is not yours."""
    wanted = list(dict.fromkeys(station_ids))
    found = {s.id: s for s in session.scalars(
        select(Station).where(in_list(session, Station.id, wanted)))}
    _check_found(wanted, {sid: station.ward for sid, station in found.items()}, field=field,
                 user=user)
    return [found[sid] for sid in wanted]


def checked_ids(*, session: Session, station_ids: list[int], field: str,
                user: User | None = None) -> list[int]:
    """Return these station ids once each, in order, as get_many checks them; reads only
    ids and wards (a broadcast may name 10,000 stations)."""
    wanted = list(dict.fromkeys(station_ids))
    wards = dict(session.execute(select(Station.id, Station.ward)
                                 .where(in_list(session, Station.id, wanted))).all())
    _check_found(wanted, wards, field=field, user=user)
    return wanted


def _check_found(wanted: list[int], wards: dict[int, str], *, field: str,
                 user: User | None) -> None:
    missing = [sid for sid in wanted if sid not in wards]
    if missing:
        raise StationNotFound(f"Không tìm thấy trạm {missing} — unknown station(s)", field=field)
    for ward in set(wards.values()):
        check_ward(user, ward, field=field)


def listing(*, session: Session, limit: int, offset: int,
            wards: frozenset[str] | None = None) -> tuple[list[Station], int]:
    """Return a page of stations (only those of the given wards, if any) and the total."""
    query = select(Station)
    if wards is not None:
        query = query.where(Station.ward.in_(sorted(wards)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Station.id).limit(limit).offset(offset))
    return list(rows), total


def by_token(*, session: Session, token: str) -> Station | None:
    """Return the station a token belongs to, if any."""
    return session.scalar(select(Station).where(Station.token_hash == security.token_hash(token)))


def remember_broker_password(*, station: Station, token: str) -> bool:
    """Keep the broker hash of a token issued before it was stored; True if it was missing.

    Such a station can log in to the supervised Mosquitto only once its hash is known, which
    is the first time its agent shows its token over HTTP (it reads the clock at start and
    every few minutes)."""
    if station.broker_password_hash is not None:
        return False
    station.broker_password_hash = mosquitto_hash(token)
    return True


def broker_logins(*, session: Session) -> list[tuple[str, str]]:
    """Return (username, Mosquitto hash) of every station that may log in to the broker."""
    rows = session.execute(select(Station.id, Station.broker_password_hash).where(
        Station.token_hash.is_not(None), Station.broker_password_hash.is_not(None))
        .order_by(Station.id))
    return [(str(station_id), str(hashed)) for station_id, hashed in rows]


def check_login(*, session: Session, station_id: str, token: str) -> bool:
    """Tell whether a broker login (username = station id, password = token) is valid."""
    station = by_token(session=session, token=token)
    return station is not None and str(station.id) == station_id


def record_statuses(*, session: Session, reports: Sequence[tuple[int, Status]],
                    replayed: Sequence[tuple[int, Status]] = (),
                    heard_since: datetime | None = None) -> None:
    """Apply availability messages in arrival order; a stale offline never overrides a newer
    online. The stations are read in one query (a reconnect storm brings thousands).

    `replayed` are statuses the broker kept (retained) and sent again on subscribing: they
    say what the station last said, not that it is there now, so they come first and do not
    count as hearing it. `heard_since` is when the scheduler's connection to the broker was
    made: a station's first word over it starts its online time again (after a broker
    restart nothing tells how long it has really been connected)."""
    ids = sorted({sid for sid, _ in [*replayed, *reports]})
    found = {station.id: station for station in session.scalars(
        select(Station).where(in_list(session, Station.id, ids)))}
    now = utcnow()
    spells = availability.Spells()
    for heard, batch in ((False, replayed), (True, reports)):
        for station_id, status in batch:
            station = found.get(station_id)
            if station is not None:
                _apply_status(station, status, now=now, spells=spells, heard=heard,
                              heard_since=heard_since)
    spells.write(session=session)


def _apply_status(station: Station, status: Status, *, now: datetime,
                  spells: availability.Spells, heard: bool,
                  heard_since: datetime | None) -> None:
    online = status.state == "online"
    if not online and station.boot_id not in (None, status.boot_id):
        return  # the will of an older boot arriving after the new boot said hello
    first_word = heard and heard_since is not None and (
        station.last_seen_at is None or station.last_seen_at < heard_since)
    if online and (not station.online or station.boot_id != status.boot_id or first_word):
        station.online_since = now
    spells.note(station, online=online, now=now)
    station.online = online
    station.boot_id = status.boot_id
    station.status_at = status.at or now
    if heard:
        station.last_seen_at = now
    if (clock := clock_reading(status)) is not None:
        _set_clock(station, clock)
    station.now_playing_id = status.now_playing if online else None


def mark_unheard_offline(*, session: Session, heard_since: datetime) -> list[str]:
    """Mark offline the stations shown online but not heard from since `heard_since`; return
    their names.

    For after a broker restart, once every agent whose link works would have reconnected:
    a station still silent then is not connected, whatever the broker remembered. Its
    online time ends when it was last heard from.
    """
    silent = list(session.scalars(select(Station).where(
        Station.online.is_(True),
        (Station.last_seen_at.is_(None)) | (Station.last_seen_at < heard_since))))
    spells = availability.Spells()
    for station in silent:
        spells.note(station, online=False, now=heard_since)
        station.online = False
        station.now_playing_id = None
    spells.write(session=session)
    return [station.name for station in silent]


class ClockReading(NamedTuple):
    """A station's clock offset and how far it may be wrong (None from older agents)."""

    offset_ms: int
    uncertainty_ms: int | None


def clock_reading(message: Event | Status) -> ClockReading | None:
    """Return the clock reading an event or a status carries, if any."""
    if message.clock_offset_ms is None:
        return None
    return ClockReading(message.clock_offset_ms, message.clock_uncertainty_ms)


def _set_clock(station: Station, clock: ClockReading) -> None:
    # both at once: an older agent's offset must not keep a newer agent's uncertainty
    station.clock_offset_ms, station.clock_uncertainty_ms = clock


def touch(*, session: Session, station_id: int, clock: ClockReading | None) -> None:
    """Note that a station was heard from just now."""
    station = session.get(Station, station_id)
    if station is None:
        return
    station.last_seen_at = utcnow()
    if clock is not None:
        _set_clock(station, clock)


def record_features(*, session: Session, features: dict[int, list[str]]) -> None:
    """Keep what each station's agent said it can do when it asked for its plan: whether it
    reads its groups' urgent topics (older agents do not: broadcasts reach them by plan)
    and whether it plays relays (older agents do not: their plans hold none)."""
    for feature, column in ((FEATURE_GROUPS, Station.reads_groups),
                            (FEATURE_RELAY, Station.relays)):
        said = {sid: feature in named for sid, named in features.items()}
        for value in (True, False):
            ids = sorted(sid for sid, has in said.items() if has is value)
            if ids:
                session.execute(update_rows(Station).where(in_list(session, Station.id, ids),
                                                      column.is_not(value))
                                .values({column.key: value}))


def touch_many(*, session: Session, clocks: dict[int, ClockReading | None]) -> None:
    """Note that these stations were heard from just now, with their latest clock readings."""
    now = utcnow()
    table = cast(Table, Station.__table__)
    known = [{"sid": sid, "seen": now, "offset": clock.offset_ms,
              "uncertainty": clock.uncertainty_ms}
             for sid, clock in clocks.items() if clock is not None]
    unknown = [{"sid": sid, "seen": now} for sid, clock in clocks.items() if clock is None]
    where = table.c.id == bindparam("sid")
    if known:
        session.execute(table.update().where(where).values(
            last_seen_at=bindparam("seen"), clock_offset_ms=bindparam("offset"),
            clock_uncertainty_ms=bindparam("uncertainty")), known)
    if unknown:
        session.execute(table.update().where(where).values(last_seen_at=bindparam("seen")),
                        unknown)
