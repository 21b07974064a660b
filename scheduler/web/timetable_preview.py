"""What the editor's timetable would do, shown as the clerk types: the rule in words, the next
broadcasts in the station's local time, quiet hours, and clashes with other timetables.

Clashes are found by the planning layer itself: the timetable is stored and planned in the
request's transaction, compared with what else plays on its stations, and rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy.orm import Session

from scheduler.bulletins import service as bulletins
from scheduler.errors import DomainError
from scheduler.groups import service as groups
from scheduler.planning import conflicts, lookahead, planner
from scheduler.planning.rules import span_in_quiet_hours
from scheduler.stations.models import Station
from scheduler.timetables import recurrence, service
from scheduler.timetables import targets as timetable_targets
from scheduler.timetables.models import Timetable
from scheduler.timetables.schemas import TimetableCreate, TimetableUpdate
from scheduler.users.models import User
from scheduler.web import format as fmt
from scheduler.web import i18n
from scheduler.web import recurrence_picker as picker
from scheduler.web.i18n import N_
from scheduler.web.recurrence_picker import FormValue
from scheduler.web.timetable_form import TimetableForm, said
from scheduler.words import station_en, station_vi, upper_first
from wardcast.protocol import Priority, utcnow

SHOWN = 8
MAX_CLASHES = 5
PATTERN = fmt.DATETIME_PATTERN
QUIET = N_("Station %(station)s: quiet hours %(start)s–%(end)s")
QUIET_SKIPPED = N_("quiet hours at %(stations)s: not played there")
CLASH = N_("Station %(station)s: clashes with “%(title)s” (%(priority)s) at %(when)s")
CLASH_BLOCKS = N_("it has the same or a higher priority: choose another time or other "
                  "stations.")
CLASH_DISPLACE = N_("it has a lower priority: tick “Let it displace…” to play over it.")
SELF_CLASH = N_("Station %(station)s: this timetable's broadcasts overlap each other at "
                "%(when)s.")
PAST = N_("%(when)s is already past at station %(station)s: choose a later day or time.")
NONE_COMING = N_("No coming broadcast: check the days, the times and the last day.")


@dataclass
class Occurrence:
    label: str
    quiet: str = ""


@dataclass
class Preview:
    error: str = ""
    words: str = ""
    zone: str = ""
    occurrences: list[Occurrence] = field(default_factory=list)
    quiet: list[str] = field(default_factory=list)
    clashes: list[tuple[str, bool]] = field(default_factory=list)  # (text, blocks saving)
    note: str = ""
    checked: bool = False  # clashes were looked for (content and stations chosen)


def named(name: str, lang: str = "vi") -> dict[str, str]:
    """A station's name for the messages: `station` inside a sentence, `Station` at its start
    ("Trạm Phường X" is said as is, "Phường X" as "trạm Phường X")."""
    said = station_vi(name) if lang == "vi" else station_en(name)
    return {"station": said, "Station": upper_first(said)}


def upcoming(*, wall: datetime, rule: str | None, zone: ZoneInfo, until: datetime | None,
             now: datetime, count: int) -> list[datetime]:
    """The next `count` broadcasts (UTC) from now: a month is looked at first, then a year."""
    found: list[datetime] = []
    for days in (35, 400):
        found = recurrence.occurrences(wall_start=wall, rule_text=rule, zone=zone,
                                       window_start=now, window_end=now + timedelta(days=days),
                                       until=until)
        if len(found) >= count:
            break
    return found[:count]


def first_day(timetable: Timetable) -> date | None:
    """The local day of a timetable's next broadcast on its first station (None: none)."""
    if not timetable.stations:
        return None
    zone = ZoneInfo(timetable.stations[0].timezone)
    wall = recurrence.local_start(starts_at=timetable.starts_at,
                                  starts_at_local=timetable.starts_at_local,
                                  floating=timetable.floating, zone=zone)
    found = upcoming(wall=wall, rule=timetable.recurrence, zone=zone, until=timetable.until,
                     now=utcnow(), count=1)
    return found[0].astimezone(zone).date() if found else None


def refuse_past(*, session: Session, form: TimetableForm, user: User) -> None:
    """Refuse a one-off start already past at one of its stations, in that station's time."""
    if form.recurrence() is not None:
        return
    now, start = utcnow(), form.starts_at()
    for station in _stations(session, form, user):
        if recurrence.to_utc(start, ZoneInfo(station.timezone)) <= now:
            raise FormValue(PAST, field="starts_at", **named(station.name),
                            when=f"{start:%H:%M %d/%m/%Y}")


def build(*, session: Session, form: TimetableForm, user: User, lang: str, default_zone: str,
          horizon: timedelta, ahead: timedelta, timetable_id: int | None = None) -> Preview:
    """Preview a timetable as typed; nothing of it is kept (the transaction is rolled back)."""
    try:
        return _build(session=session, form=form, user=user, lang=lang,
                      default_zone=default_zone, horizon=horizon, ahead=ahead,
                      timetable_id=timetable_id)
    finally:
        session.rollback()


def _build(*, session: Session, form: TimetableForm, user: User, lang: str, default_zone: str,
           horizon: timedelta, ahead: timedelta, timetable_id: int | None) -> Preview:
    preview = Preview()
    try:
        start, rule, until = form.starts_at(), form.recurrence(), form.until_at()
        last = form.last_day()
    except DomainError as exc:
        preview.error = said(exc, lang)
        return preview
    preview.words = picker.describe(rule, lang=lang, start=start, until=last)
    stations = _stations(session, form, user)
    try:
        refuse_past(session=session, form=form, user=user)
    except FormValue as exc:
        preview.error = exc.said(lang)
        return preview
    preview.zone = stations[0].timezone if stations else default_zone
    zone = ZoneInfo(preview.zone)
    now = utcnow()
    try:
        if rule is not None:
            recurrence.check_rule(rule, dtstart=start,
                                  not_before=now.astimezone(zone).replace(tzinfo=None),
                                  until=until)
        found = upcoming(wall=start, rule=rule, zone=zone,
                         until=recurrence.to_utc(until, zone) if until else None, now=now,
                         count=SHOWN)
    except DomainError as exc:
        preview.error = said(exc, lang)
        return preview
    quiet = {s.id: q for s, q in zip(stations, _quiet(session, stations), strict=True)}
    preview.quiet = [i18n.gettext(lang, QUIET) % {**named(s.name, lang), "start": f"{q[0]:%H:%M}",
                                                   "end": f"{q[1]:%H:%M}"}
                     for s in stations if (q := quiet[s.id]) is not None]
    length = _length(session, form)
    for instant in found:  # a wall time: the same at every station, whatever its zone
        wall = instant.astimezone(zone).replace(tzinfo=None)
        silent = [s.name for s in stations
                  if form.priority != Priority.EMERGENCY.value and (q := quiet[s.id])
                  and span_in_quiet_hours(wall, length, q)]
        preview.occurrences.append(Occurrence(
            format_datetime(instant.astimezone(zone), PATTERN, locale=lang),
            i18n.gettext(lang, QUIET_SKIPPED) % {"stations": ", ".join(silent)}
            if silent else ""))
    if not found:
        preview.note = i18n.gettext(lang, NONE_COMING)
    if stations and form.what:
        _rehearse(preview, session=session, form=form, user=user, lang=lang,
                  default_zone=default_zone, horizon=horizon, ahead=ahead,
                  timetable_id=timetable_id)
    return preview


def _stations(session: Session, form: TimetableForm, user: User) -> list[Station]:
    if not form.station_ids and not form.group_ids:
        return []
    try:
        return timetable_targets.resolve(session=session, station_ids=form.station_ids,
                                         group_ids=form.group_ids, user=user)
    except DomainError:
        return []


def _quiet(session: Session, stations: list[Station]) -> list[tuple[time, time] | None]:
    hours = groups.quiet_hours_many(session=session, stations=stations)
    return [hours.get(s.id) for s in stations]


def _length(session: Session, form: TimetableForm) -> timedelta:
    try:
        bulletin_id, _ = form.content()
        _, relay_s = form.relay()
        if relay_s is not None:
            return timedelta(seconds=relay_s)
        if bulletin_id is None:
            return timedelta(0)
        return timedelta(milliseconds=bulletins.get(session=session,
                                                    bulletin_id=bulletin_id).duration_ms or 0)
    except DomainError:
        return timedelta(0)


def _rehearse(preview: Preview, *, session: Session, form: TimetableForm, user: User,
              lang: str, default_zone: str, horizon: timedelta, ahead: timedelta,
              timetable_id: int | None) -> None:
    """Store and plan the timetable, then ask the planning layer what it clashes with."""
    now = utcnow()
    try:
        fields = {**form.what_fields(), "station_ids": form.station_ids,
                  "group_ids": form.group_ids,
                  "starts_at": form.starts_at(), "recurrence": form.recurrence(),
                  "until": form.until_at(), "priority": Priority(form.priority)}
        if timetable_id is None:
            timetable = service.create(session=session, data=TimetableCreate(**fields), by=user,
                                       default_zone=default_zone)
            planner.plan(session=session, now=now, horizon=horizon, only=[timetable],
                         settle=False)
        else:
            timetable = service.update(session=session, timetable_id=timetable_id,
                                       change=TimetableUpdate(**fields),
                                       default_zone=default_zone, by=user)
            planner.replan(session=session, timetable=timetable, now=now, horizon=horizon)
        preview.clashes = _clashes(session, timetable, now=now, ahead=ahead, lang=lang)
        preview.checked = True
    except (DomainError, ValueError) as exc:
        preview.error = said(exc, lang)


def _clashes(session: Session, timetable: Timetable, *, now: datetime, ahead: timedelta,
             lang: str) -> list[tuple[str, bool]]:
    rank = conflicts.RANK[timetable.priority]
    found: list[tuple[str, bool]] = []
    seen: set[tuple[int, str]] = set()

    def say(station: Station, title: str, priority: str, at: datetime, started: bool) -> None:
        if (station.id, title) in seen or len(found) >= MAX_CLASHES:
            return
        seen.add((station.id, title))
        when = fmt.minute(at, zone=station.timezone)
        blocks = started or conflicts.RANK[priority] >= rank
        text = i18n.gettext(lang, CLASH) % {**named(station.name, lang), "title": title,
                                             "priority": i18n.gettext(lang, priority),
                                             "when": when}
        found.append((f"{text}: {i18n.gettext(lang, CLASH_BLOCKS if blocks else CLASH_DISPLACE)}",
                      blocks))

    for new, old in conflicts.overlaps(session, timetable_id=timetable.id):
        station = session.get(Station, new.station_id)
        if station is not None:
            say(station, old.title, old.priority, old.start, old.started)
    for clash in lookahead.clashes(session, timetable=timetable, now=now, lookahead=ahead):
        other = clash.other.plays
        if other.timetable.id == timetable.id:
            found.append((i18n.gettext(lang, SELF_CLASH) % {
                **named(clash.station.name, lang),
                "when": fmt.minute(clash.mine.start, zone=clash.station.timezone)}, True))
        else:
            say(clash.station, other.title, other.timetable.priority, clash.other.start, False)
    return found
