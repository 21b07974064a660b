"""The timetable editor's fields, kept as typed (dd/mm/yyyy, "06:00 và 17:00") and read on the
server: what the browser's locale would show plays no part."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import Depends, Form
from sqlalchemy.orm import Session

from scheduler.errors import InvalidInput
from scheduler.timetables import targets as timetable_targets
from scheduler.timetables.models import Timetable
from scheduler.web import format as fmt
from scheduler.web import recurrence_picker as picker
from scheduler.web import targets
from scheduler.web.i18n import N_
from scheduler.web.recurrence_picker import FormValue
from wardcast.protocol import Priority

Ids = Annotated[list[str], Form()]
NO_CONTENT = N_("Choose an approved bulletin, a programme or a stream to relay.")
NO_SPAN = N_("Give the relay's end time (for example 06:00) or its length in minutes.")
DAY = 24 * 60


@dataclass
class TimetableForm:
    """What the editor shows and sends back, kept as typed so that a refusal loses nothing."""

    what: str = ""  # "b:ID" a bulletin, "p:ID" a programme, "s:ID" a stream to relay
    relay_end: str = ""  # a relay's end "HH:MM", or its length in minutes
    station_ids: list[int] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)
    day: str = ""  # dd/mm/yyyy
    at: str = "06:00"  # one time or several: "06:00 và 17:00"
    repeat: str = "once"
    weekdays: list[str] = field(default_factory=list)
    rule: str = ""
    until: str = ""  # dd/mm/yyyy
    priority: str = Priority.NORMAL.value
    displace: bool = False

    @classmethod
    def of(cls, timetable: Timetable, session: Session) -> TimetableForm:
        """Fill the editor from a stored timetable (its wall-clock start, rule and targets)."""
        wall = datetime.fromisoformat(timetable.starts_at_local)
        choice = picker.choice_for(timetable.recurrence)
        what = (f"b:{timetable.bulletin_id}" if timetable.bulletin_id is not None
                else f"s:{timetable.stream_id}" if timetable.stream_id is not None
                else f"p:{timetable.programme_id}")
        end = ""
        if timetable.duration_s is not None:
            end = (datetime.combine(wall.date(), wall.time())
                   + timedelta(seconds=timetable.duration_s)).strftime("%H:%M")
        until = until_day(timetable)
        return cls(what=what, relay_end=end,
                   station_ids=timetable_targets.direct_ids(session=session, timetable=timetable),
                   group_ids=timetable_targets.group_ids(session=session, timetable=timetable),
                   day=picker.show_day(wall.date()),
                   at=picker.show_times(choice.times or [wall.time()]), repeat=choice.repeat,
                   weekdays=choice.weekdays, rule=choice.custom,
                   until=picker.show_day(until) if until else "", priority=timetable.priority)

    def times(self) -> list[time]:
        return picker.parse_times(self.at)

    def first_day(self) -> date:
        day = picker.parse_day(self.day, field="starts_at")
        assert day is not None  # required
        return day

    def starts_at(self) -> datetime:
        """The wall-clock start (the first day at the first time): local at each station."""
        return datetime.combine(self.first_day(), self.times()[0])

    def recurrence(self) -> str | None:
        return picker.rule_for(repeat=self.repeat, weekdays=self.weekdays, times=self.times(),
                               custom=self.rule, start_weekday=self.first_day().weekday())

    def last_day(self) -> date | None:
        if self.repeat == "once":
            return None
        return picker.parse_day(self.until, field="until", required=False)

    def until_at(self) -> datetime | None:
        """The last day it plays, to the end of that day (local time)."""
        day = self.last_day()
        return None if day is None else datetime.combine(day, time(23, 59, 59))

    def content(self) -> tuple[int | None, int | None]:
        """The chosen (bulletin_id, programme_id): at most one set (neither for a relay)."""
        kind, _, number = self.what.partition(":")
        if kind not in ("b", "p", "s") or not number.isdigit():
            raise FormValue(NO_CONTENT, field="bulletin_id")
        return {"b": (int(number), None), "p": (None, int(number))}.get(kind, (None, None))

    def relay(self) -> tuple[int | None, int | None]:
        """The chosen stream and the relay's length in seconds, or (None, None)."""
        kind, _, number = self.what.partition(":")
        if kind != "s" or not number.isdigit():
            return None, None
        return int(number), self._span_minutes() * 60

    def _span_minutes(self) -> int:
        """Minutes from the start to the end time (past midnight: the next day), or as typed."""
        typed = self.relay_end.strip()
        if typed.isdigit() and 0 < int(typed) <= DAY:
            return int(typed)
        try:
            end = picker.parse_times(typed)
        except InvalidInput:
            end = []
        if len(end) != 1:
            raise FormValue(NO_SPAN, field="duration_s")
        start = self.times()[0]
        minutes = (end[0].hour * 60 + end[0].minute - start.hour * 60 - start.minute) % DAY
        return minutes or DAY

    def what_fields(self) -> dict[str, int | None]:
        """What plays, as the API takes it: bulletin_id, programme_id or stream_id with
        duration_s."""
        bulletin_id, programme_id = self.content()
        stream_id, duration_s = self.relay()
        return {"bulletin_id": bulletin_id, "programme_id": programme_id,
                "stream_id": stream_id, "duration_s": duration_s}


def until_day(timetable: Timetable) -> date | None:
    """The timetable's last day, in its first station's zone."""
    if timetable.until is None:
        return None
    zone = timetable.stations[0].timezone if timetable.stations else "UTC"
    return fmt.local(timetable.until, zone).date()


def said(exc: InvalidInput | Exception, lang: str) -> str:
    """A refusal in the reader's language."""
    if isinstance(exc, FormValue):
        return exc.said(lang)
    return fmt.in_language(str(exc), lang=lang)


def _posted(what: Annotated[str, Form(max_length=24)] = "",
            relay_end: Annotated[str, Form(max_length=10)] = "",
            station_ids: Ids = [], group_ids: Ids = [],  # noqa: B006 - FastAPI copies defaults
            day: Annotated[str, Form(max_length=40)] = "",
            at: Annotated[str, Form(max_length=300)] = "",
            repeat: Annotated[str, Form(max_length=10)] = "once",
            weekdays: Ids = [],  # noqa: B006
            rule: Annotated[str, Form(max_length=1000)] = "",
            until: Annotated[str, Form(max_length=40)] = "",
            priority: Annotated[str, Form(max_length=16)] = "normal",
            displace: Annotated[str, Form(max_length=8)] = "") -> TimetableForm:
    """Read the editor as posted, to create a timetable, to change one or to preview it."""
    days = [d for d in weekdays if d in picker.WEEKDAYS]
    if repeat == "daily":  # the picker's former "every day": every day of the week
        repeat, days = "weekly", list(picker.WEEKDAYS)
    return TimetableForm(
        what=what.strip(), relay_end=relay_end.strip(), station_ids=targets.ids(station_ids),
        group_ids=targets.ids(group_ids), day=day.strip(), at=at.strip(),
        repeat=repeat if repeat in picker.REPEATS else "once",
        weekdays=days, rule=rule.strip(), until=until.strip(),
        priority=priority if priority in set(Priority) else Priority.NORMAL.value,
        displace=bool(displace))


PostedForm = Annotated[TimetableForm, Depends(_posted)]
