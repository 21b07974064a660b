"""What may be planned: a bulletin's validity dates and a station's quiet hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.groups import service as groups
from scheduler.stations.models import Station
from scheduler.timetables.models import Timetable
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


@dataclass(frozen=True)
class Rules:
    """The rules one timetable's occurrences must pass, per station."""

    valid_from: date | None
    valid_until: date | None
    emergency: bool
    quiet: dict[int, tuple[time, time] | None]

    @classmethod
    def load(cls, session: Session, timetable: Timetable, stations: list[Station]) -> Rules:
        bulletin = session.get(Bulletin, timetable.bulletin_id)
        assert bulletin is not None
        return cls(valid_from=bulletin.valid_from, valid_until=bulletin.valid_until,
                   emergency=timetable.priority == Priority.EMERGENCY.value,
                   quiet={s.id: groups.quiet_hours(session=session, station=s)
                          for s in stations})

    def allows(self, station: Station, instant: datetime) -> bool:
        return self.refusal(station, instant) is None

    def refusal(self, station: Station, instant: datetime) -> str | None:
        """Say why an occurrence may not be planned, or None if it may."""
        local = instant.astimezone(ZoneInfo(station.timezone))
        if not within_validity(local.date(), self.valid_from, self.valid_until):
            return (f"ngày {local.date()} nằm ngoài thời hạn phát của bản tin — "
                    f"{local.date()} is outside the bulletin's broadcast dates")
        quiet = self.quiet.get(station.id)
        if not self.emergency and quiet is not None and in_quiet_hours(local.time(), quiet):
            return (f"{local:%H:%M} nằm trong giờ im lặng {quiet[0]:%H:%M}–{quiet[1]:%H:%M} "
                    f"của trạm {station.id} — inside the station's quiet hours")
        return None
