"""A week of two wards' broadcasting, made through the scheduler's own services on a moved
clock, and the report's figures worked out again from the rows it left (a plain walk).

Wards Tân Lợi (stations 1 and 2) and Ea Tam (station 3); Vietnamese and Ê Đê bulletins; a
daily 06:00 bulletin everywhere, an 18:00 Ê Đê one in Ea Tam and a 20:00 one on station 1
whose timetable is deleted on 3 June. On 2 June an emergency interrupts station 1's 06:00
bulletin; station 3 is offline from before noon on 2 June to 09:00 on 3 June and misses two
slots; station 2 fails one. The report is read at 12:00 on 4 June, with Ea Tam's 18:00 slot
still to come. The previous period (30 May – 1 June) has two days of clean playing.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from scheduler.broadcasts import service as broadcasts
from scheduler.broadcasts.schemas import BroadcastCreate
from scheduler.bulletins.models import Bulletin
from scheduler.db import Database
from scheduler.planning import scheduling
from scheduler.playbacks import ledger
from scheduler.playbacks.models import Playback
from scheduler.reports.schemas import LIVE_SOURCE, ActivityReport, Figures
from scheduler.stations import service as stations
from scheduler.stations.models import Station, StationSpell
from scheduler.streams.models import Stream, StreamKind
from scheduler.timetables.schemas import TimetableCreate
from scheduler.users import service as users
from scheduler.users.models import User
from tests.support.clock import Clock
from wardcast.protocol import Event, EventType, Priority, Status

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TAN_LOI, EA_TAM = "Phường Tân Lợi", "Phường Ea Tam"
FIRST, LAST = date(2026, 6, 2), date(2026, 6, 4)  # the report's period
BEFORE = (date(2026, 5, 30), date(2026, 6, 1))  # the previous one
FINAL = {"played", "interrupted", "missed", "failed", "skipped", "cancelled"}


def local(day: date, hour: int, minute: int = 0, second: float = 0.0) -> datetime:
    """A local wall time in the city's zone, as a UTC instant."""
    moment = datetime.combine(day, time(hour, minute), ZONE) + timedelta(seconds=second)
    return moment.astimezone(UTC)


REPORTED_AT = local(LAST, 12)


@dataclass
class City:
    station_ids: dict[str, int]  # "s1", "s2", "s3"
    bulletin_ids: dict[str, int]  # "vi", "rad", "emergency"
    admin_id: int


def build(db: Database, clock: Clock) -> City:
    """Make the week happen; leave the clock at REPORTED_AT."""
    clock.at(local(date(2026, 5, 26), 8))
    with db.session() as session:
        ids = {key: stations.register(session=session, name=name, ward=ward,
                                      timezone="Asia/Ho_Chi_Minh")[0].id
               for key, name, ward in (("s1", "Trạm chợ Tân Lợi", TAN_LOI),
                                       ("s2", "Trạm UBND Tân Lợi", TAN_LOI),
                                       ("s3", "Trạm buôn Ea Tam", EA_TAM))}
        bulletin_ids = {key: _bulletin(session, clock, title, language, category, seconds)
                        for key, title, language, category, seconds in (
                            ("vi", "Bản tin sức khỏe", "vi", "y-te", 120),
                            ("rad", "Bản tin tiếng Ê Đê", "rad", None, 90),
                            ("emergency", "Cảnh báo lũ", "vi", "phong-chong-thien-tai", 30))}
        admin = users.create_user(session=session, username="report-admin",
                                  password="password-123", role="admin")
        city = City(ids, bulletin_ids, admin.id)
        clock.at(local(date(2026, 5, 27), 8))
        _status(session, [ids["s1"], ids["s2"], ids["s3"]], "online", "b1")
        timetables = {name: _timetable(session, admin, bulletin_ids[bulletin], stations_, hour)
                      for name, bulletin, stations_, hour in (
                          ("daily", "vi", [ids["s1"], ids["s2"], ids["s3"]], 6),
                          ("ede", "rad", [ids["s3"]], 18),
                          ("evening", "vi", [ids["s1"]], 20))}
        session.commit()
        _play_week(session, clock, city, timetables)
        session.commit()
    clock.at(REPORTED_AT)
    return city


def _bulletin(session: Session, clock: Clock, title: str, language: str, category: str | None,
              seconds: int) -> int:
    bulletin = Bulletin(title=title, language=language, category=category, status="approved",
                        duration_ms=seconds * 1000, sha256=uuid.uuid4().hex * 2, size_bytes=1,
                        loudness_lufs=-16, true_peak_dbtp=-2, source_loudness_lufs=-20,
                        source_duration_ms=seconds * 1000, source_format="wav",
                        normalization_type="linear", original_sha256=uuid.uuid4().hex * 2,
                        original_filename=f"{title}.wav", created_at=clock.now)
    session.add(bulletin)
    session.flush()
    return bulletin.id


def _timetable(session: Session, admin: User, bulletin_id: int, station_ids: list[int],
               hour: int) -> int:
    data = TimetableCreate(bulletin_id=bulletin_id, station_ids=station_ids,
                           starts_at=datetime(2026, 5, 31, hour), recurrence="FREQ=DAILY",
                           until=datetime(2026, 6, 4, 23))
    timetable = scheduling.create(session=session, data=data, by=admin,
                                  default_zone="Asia/Ho_Chi_Minh",
                                  horizon=timedelta(days=10), lookahead=timedelta(days=10))
    return timetable.id


def _status(session: Session, station_ids: list[int], state: str, boot: str) -> None:
    stations.record_statuses(session=session, reports=[
        (sid, Status(state=state, boot_id=boot)) for sid in station_ids])  # type: ignore[arg-type]


def _slot(session: Session, timetable_id: int, station_id: int, day: date, hour: int) -> int:
    found = session.scalar(select(Playback.id).where(
        Playback.timetable_id == timetable_id, Playback.station_id == station_id,
        Playback.scheduled_at == local(day, hour)))
    assert found is not None, (timetable_id, station_id, day, hour)
    return found


def _report(session: Session, clock: Clock, station_id: int, playback_id: int,
            kind: EventType, at: datetime, reason: str | None = None) -> None:
    """The station's agent reports an event that happened at `at`, a moment later."""
    clock.at(at + timedelta(seconds=1))
    event = Event(event_id=uuid.uuid4().hex, playback_id=playback_id, type=kind, at=at,
                  reason=reason)
    ledger.apply_events(session=session, reports=[(station_id, event)])


def _played(session: Session, clock: Clock, station_id: int, playback_id: int,
            start: datetime, seconds: float) -> None:
    _report(session, clock, station_id, playback_id, EventType.STARTED, start)
    _report(session, clock, station_id, playback_id, EventType.FINISHED,
            start + timedelta(seconds=seconds))


def _play_week(session: Session, clock: Clock, city: City, timetables: dict[str, int]) -> None:
    s1, s2, s3 = (city.station_ids[k] for k in ("s1", "s2", "s3"))
    daily, ede, evening = (timetables[k] for k in ("daily", "ede", "evening"))
    for day in (date(2026, 5, 31), date(2026, 6, 1)):  # the previous period: all played
        for sid in (s1, s2, s3):
            _played(session, clock, sid, _slot(session, daily, sid, day, 6),
                    local(day, 6, second=0.2), 120)
        _played(session, clock, s3, _slot(session, ede, s3, day, 18), local(day, 18), 90)
        _played(session, clock, s1, _slot(session, evening, s1, day, 20), local(day, 20), 120)
    day = FIRST  # 2 June: an emergency cuts station 1's 06:00 bulletin short
    first = _slot(session, daily, s1, day, 6)
    _report(session, clock, s1, first, EventType.STARTED, local(day, 6, second=0.1))
    clock.at(local(day, 6, second=30))
    admin = session.get(User, city.admin_id)
    assert admin is not None
    alert = broadcasts.create(session=session, by=admin, data=BroadcastCreate(
        bulletin_id=city.bulletin_ids["emergency"], station_ids=[s1],
        priority=Priority.EMERGENCY)).playback_ids[0]
    _report(session, clock, s1, first, EventType.INTERRUPTED, local(day, 6, second=30.3),
            reason="preempted: emergency")
    _played(session, clock, s1, alert, local(day, 6, second=30.4), 30)
    for sid in (s2, s3):
        _played(session, clock, sid, _slot(session, daily, sid, day, 6), local(day, 6), 120)
    clock.at(local(day, 11, 59, 30))  # station 3's last word, then its will
    _status(session, [s3], "online", "b1")
    clock.at(local(day, 12, 1))
    _status(session, [s3], "offline", "b1")
    _played(session, clock, s1, _slot(session, evening, s1, day, 20), local(day, 20), 120)
    day = date(2026, 6, 3)
    _played(session, clock, s1, _slot(session, daily, s1, day, 6), local(day, 6), 120)
    _report(session, clock, s2, _slot(session, daily, s2, day, 6), EventType.FAILED,
            local(day, 6, second=2), reason="media_unavailable: checksum mismatch")
    clock.at(local(day, 9))  # station 3 is back and reports the slot it could not play
    _status(session, [s3], "online", "b2")
    _report(session, clock, s3, _slot(session, ede, s3, FIRST, 18), EventType.SKIPPED,
            local(day, 9, second=5), reason="late: the start window closed")
    clock.at(local(day, 10))  # nobody reported its 06:00 slot: the watchdog says missed
    ledger.watchdog(session=session, now=clock.now, grace=timedelta(seconds=60),
                    offline_grace=timedelta(hours=6))
    scheduling.delete(session=session, timetable_id=evening, by=admin)
    _played(session, clock, s3, _slot(session, ede, s3, day, 18), local(day, 18), 90)
    day = LAST
    for sid in (s1, s2, s3):
        _played(session, clock, sid, _slot(session, daily, sid, day, 6), local(day, 6), 120)


# --- the figures, worked out again from the rows -------------------------------------------

COUNTS = ("planned", "played", "interrupted", "missed", "failed", "skipped", "cancelled",
          "open", "bulletins", "emergencies")

_CODE = re.compile(r"^([a-z][a-z0-9_]*)(?::|$)")


def expected(session: Session, *, first: date, last: date, wards: set[str] | None,
             now: datetime = REPORTED_AT) -> dict[str, dict[object, dict[str, object]]]:
    """Every figure of every station, ward and the city, by walking the rows."""
    start, end = local(first, 0), local(last + timedelta(days=1), 0)
    station_rows = {s.id: s for s in session.scalars(select(Station))
                    if wards is None or s.ward in wards}
    bulletin_rows = {b.id: b for b in session.scalars(select(Bulletin))}
    spells = list(session.scalars(select(StationSpell)))
    rows = [p for p in session.scalars(select(Playback))
            if start <= p.scheduled_at < end and p.station_id in station_rows]
    by_station = {sid: _figures([p for p in rows if p.station_id == sid], bulletin_rows)
                  | _uptime([s for s in spells if s.station_id == sid],
                            max(start, station.created_at), min(end, now))
                  for sid, station in station_rows.items()}
    by_ward: dict[object, dict[str, object]] = {}
    for ward in sorted({s.ward for s in station_rows.values()}):
        members = [sid for sid, s in station_rows.items() if s.ward == ward]
        by_ward[ward] = _sum([by_station[sid] for sid in members],
                             [p for p in rows if p.station_id in members], bulletin_rows)
    city = _sum(list(by_station.values()), rows, bulletin_rows)
    return {"stations": dict(by_station.items()), "wards": by_ward, "city": {"": city}}


def _figures(rows: list[Playback], bulletins: dict[int, Bulletin]) -> dict[str, object]:
    on_air = [p for p in rows if p.status in ("played", "interrupted")]
    figures: dict[str, object] = {s: sum(p.status == s for p in rows) for s in FINAL}
    figures["open"] = sum(p.status not in FINAL for p in rows)
    figures["planned"] = sum(p.status != "cancelled" for p in rows)
    figures["emergencies"] = sum(p.priority == "emergency" for p in on_air)
    figures["bulletins"] = len({p.bulletin_id for p in on_air if p.bulletin_id is not None})
    figures["on_air_seconds"] = sum(_length(p) for p in on_air)
    languages: dict[str, float] = {}
    categories: dict[str, float] = {}
    topics: dict[str, float] = {}
    streams: dict[str, float] = {}
    for p in on_air:
        if p.bulletin_id is None:  # a relay: counted by its stream's name
            name = _stream_name(p)
            streams[name] = streams.get(name, 0.0) + _length(p)
            continue
        bulletin = bulletins[p.bulletin_id]
        languages[bulletin.language] = languages.get(bulletin.language, 0.0) + _length(p)
        category = bulletin.category or ""
        categories[category] = categories.get(category, 0.0) + _length(p)
        topics[bulletin.topic] = topics.get(bulletin.topic, 0.0) + _length(p)
    reasons: dict[str, int] = {}
    for p in rows:
        if p.status in ("missed", "failed"):
            found = _CODE.match(p.reason or "")
            key = found.group(1) if found else (p.reason or "")
            reasons[key] = reasons.get(key, 0) + 1
    return figures | {"by_language": languages, "by_category": categories,
                      "by_topic": topics, "by_stream": streams,
                      "not_played_by_reason": reasons}


def _stream_name(p: Playback) -> str:
    session = object_session(p)
    assert session is not None and p.stream_id is not None
    stream = session.get(Stream, p.stream_id)
    assert stream is not None
    return LIVE_SOURCE if stream.kind == StreamKind.LIVE else stream.name


def _length(p: Playback) -> float:
    assert p.started_at is not None and p.finished_at is not None
    return (p.finished_at - p.started_at).total_seconds()


def _uptime(spells: list[StationSpell], start: datetime, end: datetime) -> dict[str, object]:
    """Online seconds over [start, end], and the longest stretch no spell covers."""
    observed = max((end - start).total_seconds(), 0.0)
    covered = sorted((max(s.online_from, start), min(s.online_until or end, end))
                     for s in spells)
    covered = [(a, b) for a, b in covered if a < b]
    online = sum((b - a).total_seconds() for a, b in covered)
    gaps, cursor = [], start
    for a, b in covered:
        gaps.append((a - cursor).total_seconds())
        cursor = max(cursor, b)
    gaps.append((end - cursor).total_seconds())
    longest = max([g for g in gaps if g > 0], default=None)
    return {"online_seconds": online, "observed_seconds": observed,
            "availability": online / observed if observed else None, "outage": longest}


def _sum(parts: list[dict[str, object]], rows: list[Playback],
         bulletins: dict[int, Bulletin]) -> dict[str, object]:
    total = _figures(rows, bulletins)  # counts and seconds; distinct bulletins of the level
    online = sum(float(p["online_seconds"]) for p in parts)  # type: ignore[arg-type]
    observed = sum(float(p["observed_seconds"]) for p in parts)  # type: ignore[arg-type]
    outages = [float(p["outage"]) for p in parts if p["outage"] is not None]  # type: ignore[arg-type]
    return total | {"online_seconds": online, "observed_seconds": observed,
                    "availability": online / observed if observed else None,
                    "outage": max(outages, default=None)}


def same(got: Figures, want: dict[str, object], where: str) -> None:
    """Counts exactly, seconds within a second."""
    for name in COUNTS:
        assert getattr(got, name) == want[name], (where, name, getattr(got, name), want[name])
    assert got.on_air_seconds == pytest.approx(want["on_air_seconds"], abs=1), where
    for name in ("by_language", "by_category", "by_topic", "by_stream"):
        mine, theirs = getattr(got, name), want[name]
        assert isinstance(theirs, dict) and set(mine) == set(theirs), (where, name, mine)
        for key, value in theirs.items():
            assert mine[key] == pytest.approx(value, abs=1), (where, name, key)
    assert got.not_played_by_reason == want["not_played_by_reason"], where
    assert got.online_seconds == pytest.approx(want["online_seconds"], abs=1), where
    assert got.observed_seconds == pytest.approx(want["observed_seconds"], abs=1), where
    if want["availability"] is None:
        assert got.availability is None, where
    else:
        assert got.availability == pytest.approx(want["availability"], abs=1e-4), where
    outage = got.longest_outage.seconds if got.longest_outage else None
    assert outage == (None if want["outage"] is None else pytest.approx(want["outage"], abs=1)), \
        (where, outage, want["outage"])


def matches(db: Database, report: ActivityReport, *, first: date = FIRST, last: date = LAST,
            wards: set[str] | None = None, now: datetime = REPORTED_AT) -> None:
    """Every figure of the report is the one worked out from the rows."""
    with db.session() as session:
        want = expected(session, first=first, last=last, wards=wards, now=now)
    assert {s.station_id for s in report.stations} == set(want["stations"])
    for station in report.stations:
        same(station, want["stations"][station.station_id], station.name)
    assert [w.ward for w in report.wards] == sorted(want["wards"])
    for ward in report.wards:
        same(ward, want["wards"][ward.ward], ward.ward)
    same(report.totals, want["city"][""], "city")
