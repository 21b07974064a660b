"""What may be planned: a bulletin's validity dates and a station's quiet hours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.groups import service as groups
from scheduler.instants import said_day
from scheduler.stations.models import Station
from scheduler.timetables.models import Timetable
from scheduler.words import station_en, station_vi
from wardcast.protocol import Priority


def in_quiet_hours(local: time, quiet: tuple[time, time]) -> bool:
    """Tell whether a local time falls in quiet hours, which may span midnight."""
    start, end = quiet
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def within_validity(day: date, valid_from: date | None, valid_until: date | None) -> bool:
    """Tell whether a local date is inside a bulletin's broadcast dates."""
    return (valid_from is None or day >= valid_from) and (valid_until is None
                                                          or day <= valid_until)


def span_in_quiet_hours(local: datetime, length: timedelta, quiet: tuple[time, time]) -> bool:
    """Tell whether [local, local + length) touches quiet hours (a naive wall-clock span)."""
    if in_quiet_hours(local.time(), quiet):
        return True
    end = local + length
    day = local.date()
    while day <= end.date():
        begins = datetime.combine(day, quiet[0])
        if local < begins < end:
            return True
        day += timedelta(days=1)
    return False


@dataclass(frozen=True)
class Rules:
    """The rules one timetable's runs must pass, per station."""

    valid_from: date | None
    valid_until: date | None
    emergency: bool
    quiet: dict[int, tuple[time, time] | None]

    @classmethod
    def load(cls, session: Session, timetable: Timetable, stations: list[Station], *,
             bulletin_ids: list[int]) -> Rules:
        """Load the rules; a programme's run must be inside every item's broadcast dates."""
        dates = session.execute(select(Bulletin.valid_from, Bulletin.valid_until)
                                .where(Bulletin.id.in_(bulletin_ids))).all()
        return cls.from_dates(dates, timetable=timetable,
                              quiet=groups.quiet_hours_many(session=session, stations=stations))

    @classmethod
    def from_dates(cls, dates: Sequence[tuple[date | None, date | None]], *,
                   timetable: Timetable, quiet: dict[int, tuple[time, time] | None]) -> Rules:
        """Make the rules from the items' broadcast dates and the stations' quiet hours."""
        starts = [d[0] for d in dates if d[0] is not None]
        ends = [d[1] for d in dates if d[1] is not None]
        return cls(valid_from=max(starts, default=None), valid_until=min(ends, default=None),
                   emergency=timetable.priority == Priority.EMERGENCY.value, quiet=quiet)

    def restricts(self, station: Station) -> bool:
        """Tell whether some run on the station could be refused (else no need to ask)."""
        return (self.valid_from is not None or self.valid_until is not None
                or (not self.emergency and self.quiet.get(station.id) is not None))

    def allows(self, station: Station, instant: datetime,
               length: timedelta = timedelta(0)) -> bool:
        return self.refusal(station, instant, length) is None

    def refusal(self, station: Station, instant: datetime,
                length: timedelta = timedelta(0)) -> str | None:
        """Say why a run from instant lasting length may not be planned, or None if it may."""
        local = instant.astimezone(ZoneInfo(station.timezone))
        if not within_validity(local.date(), self.valid_from, self.valid_until):
            day = said_day(local.date())
            return (f"ngày {day} nằm ngoài thời hạn phát của bản tin — "
                    f"{day} is outside the bulletin's broadcast dates")
        quiet = self.quiet.get(station.id)
        if (not self.emergency and quiet is not None
                and span_in_quiet_hours(local.replace(tzinfo=None), length, quiet)):
            return (f"{local:%H:%M} nằm trong giờ im lặng {quiet[0]:%H:%M}–{quiet[1]:%H:%M} "
                    f"của {station_vi(station.name)} — {local:%H:%M} is inside the quiet hours "
                    f"of {station_en(station.name)}")
        return None
