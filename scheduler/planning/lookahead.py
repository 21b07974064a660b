"""Clashes past the planning horizon, where there are no playbacks yet: expansions compared.

When a timetable is created or changed, its runs over the look-ahead (a year by default) are
compared with the runs of every other live timetable on the same stations, as the planner
would plan them (each station's zone, broadcast dates, quiet hours); a run the planner would
not plan is no clash, nor is a run the ledger already closed (skipped, cancelled, played).
Stations that share a zone, quiet hours and the timetables they carry are compared once.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from scheduler.bulletins.models import Bulletin
from scheduler.groups import service as groups
from scheduler.planning.rules import Rules
from scheduler.playbacks.models import OPEN, Playback
from scheduler.programmes import layout
from scheduler.programmes.models import Programme
from scheduler.stations.models import Station
from scheduler.streams.models import Stream
from scheduler.timetables import recurrence
from scheduler.timetables.models import Timetable, timetable_stations

CHUNK = 500


@dataclass(frozen=True)
class Plays:
    """What one timetable plays, as far as clashes go: its runs' length, title and rules."""

    timetable: Timetable
    title: str
    length: timedelta
    rules: Rules


@dataclass(frozen=True)
class Run:
    start: datetime
    end: datetime
    plays: Plays


@dataclass(frozen=True)
class Clash:
    """A run of the checked timetable on a station overlapping another (or one of its own)."""

    station: Station
    mine: Run
    other: Run


def clashes(session: Session, *, timetable: Timetable, now: datetime,
            lookahead: timedelta) -> list[Clash]:
    """Return the first clash with each other timetable (and itself), earliest first."""
    targets = list(timetable.stations)
    if not targets or lookahead <= timedelta(0):
        return []
    end = now + lookahead
    quiet = groups.quiet_hours_many(session=session, stations=targets)
    carried = _others(session, timetable, [s.id for s in targets], now)
    plays = {t.id: _plays(session, t, quiet) for t in {timetable, *(
        t for ts in carried.values() for t in ts)}}
    closed = _closed(session, list(plays), [s.id for s in targets], now)
    expand = _Expansions(now, end)
    found: dict[int, Clash] = {}
    classes: dict[tuple[object, ...], Station] = {}
    for station in targets:  # stations alike are compared once, through the first of them
        key = (station.timezone, quiet.get(station.id),
               frozenset(t.id for t in carried.get(station.id, ())),
               closed.get(station.id, frozenset()))
        classes.setdefault(key, station)
    for station in classes.values():
        gone = closed.get(station.id, frozenset())
        runs = {tid: [r for r in expand.runs(plays[tid], station) if (tid, r.start) not in gone]
                for tid in {timetable.id, *(t.id for t in carried.get(station.id, ()))}}
        mine = runs.pop(timetable.id)
        for clash in _compare(station, mine, runs):
            earlier = found.get(clash.other.plays.timetable.id)
            if earlier is None or clash.mine.start < earlier.mine.start:
                found[clash.other.plays.timetable.id] = clash
    return sorted(found.values(), key=lambda c: c.mine.start)


def _compare(station: Station, mine: list[Run], others: dict[int, list[Run]]) -> Iterable[Clash]:
    """Sweep: each run of mine against the others' runs sorted by start (no pairs of all)."""
    for before, after in zip(mine, mine[1:], strict=False):
        if after.start < before.end:
            yield Clash(station, after, before)
            break
    for theirs in others.values():
        if not theirs:
            continue
        starts = [r.start for r in theirs]
        longest = max(r.end - r.start for r in theirs)
        for run in mine:
            first = bisect_left(starts, run.start - longest)
            hit = next((o for o in theirs[first:bisect_left(starts, run.end)]
                        if o.end > run.start and o.start < run.end), None)
            if hit is not None:
                yield Clash(station, run, hit)
                break


class _Expansions:
    """Runs of timetables over the look-ahead, expanded once per zone."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self.cache: dict[tuple[int, str], list[datetime]] = {}
        # no rule check_rule accepts has more runs than this in the window
        self.limit = int((end - start) / recurrence.MIN_SPACING) + recurrence.MAX_BURST + 2

    def runs(self, plays: Plays, station: Station) -> list[Run]:
        timetable = plays.timetable
        key = (timetable.id, station.timezone)
        if key not in self.cache:
            zone = ZoneInfo(station.timezone)
            wall = recurrence.local_start(starts_at=timetable.starts_at,
                                          starts_at_local=timetable.starts_at_local,
                                          floating=timetable.floating, zone=zone)
            self.cache[key] = recurrence.occurrences(
                wall_start=wall, rule_text=timetable.recurrence, zone=zone,
                window_start=self.start, window_end=self.end, until=timetable.until,
                limit=self.limit)
        checked = plays.rules.restricts(station)
        return [Run(at, at + plays.length, plays) for at in self.cache[key]
                if not checked or plays.rules.allows(station, at, plays.length)]


def _others(session: Session, timetable: Timetable, station_ids: list[int],
            now: datetime) -> dict[int, list[Timetable]]:
    """Return, per station, the other live timetables that play on it."""
    pairs: list[tuple[int, int]] = []
    for first in range(0, len(station_ids), CHUNK):
        pairs += session.execute(
            select(timetable_stations.c.station_id, timetable_stations.c.timetable_id)
            .join(Timetable, Timetable.id == timetable_stations.c.timetable_id)
            .where(timetable_stations.c.station_id.in_(station_ids[first:first + CHUNK]),
                   Timetable.id != timetable.id, Timetable.deleted_at.is_(None),
                   Timetable.until.is_(None) | (Timetable.until >= now))).all()
    wanted = sorted({tid for _, tid in pairs})
    # their own stations are not needed: lazyload spares reading every one of them
    loaded = {t.id: t for first in range(0, len(wanted), CHUNK) for t in session.scalars(
        select(Timetable).options(lazyload(Timetable.stations))
        .where(Timetable.id.in_(wanted[first:first + CHUNK])))}
    carried: dict[int, list[Timetable]] = {}
    for station_id, timetable_id in pairs:
        carried.setdefault(station_id, []).append(loaded[timetable_id])
    return carried


def _plays(session: Session, timetable: Timetable,
           quiet: dict[int, tuple[time, time] | None]) -> Plays:
    laid = layout.for_timetable(session, timetable)
    dates = session.execute(select(Bulletin.valid_from, Bulletin.valid_until)
                            .where(Bulletin.id.in_(layout.bulletin_ids(laid)))).all()
    if timetable.stream_id is not None:
        stream = session.get(Stream, timetable.stream_id)
        title = stream.name if stream is not None else f"#{timetable.stream_id}"
    elif timetable.programme_id is not None:
        programme = session.get(Programme, timetable.programme_id)
        title = programme.title if programme is not None else f"#{timetable.programme_id}"
    else:
        bulletin = session.get(Bulletin, timetable.bulletin_id)
        title = bulletin.title if bulletin is not None else f"#{timetable.bulletin_id}"
    rules = Rules.from_dates(dates, timetable=timetable, quiet=quiet)
    return Plays(timetable, title, layout.span(laid), rules)


def _closed(session: Session, timetable_ids: list[int], station_ids: list[int],
            now: datetime) -> dict[int, frozenset[tuple[int, datetime]]]:
    """Runs the ledger holds but will not play (skipped, cancelled…), per station."""
    status: dict[tuple[int | None, int, datetime], bool] = {}
    for first in range(0, len(station_ids), CHUNK):
        rows = session.execute(
            select(Playback.timetable_id, Playback.station_id, Playback.scheduled_at,
                   Playback.programme_run_at, Playback.status)
            .where(Playback.timetable_id.in_(timetable_ids),
                   Playback.station_id.in_(station_ids[first:first + CHUNK]),
                   Playback.scheduled_at >= now - layout.MAX_RUN))
        for timetable_id, station_id, at, run_at, state in rows:
            key = (timetable_id, station_id, run_at or at)
            status[key] = status.get(key, False) or state in OPEN
    closed: dict[int, set[tuple[int, datetime]]] = {}
    for (timetable_id, station_id, at), open_ in status.items():
        if not open_ and timetable_id is not None:
            closed.setdefault(station_id, set()).add((timetable_id, at))
    return {station_id: frozenset(runs) for station_id, runs in closed.items()}
