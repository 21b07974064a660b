"""Build a station's agenda from its ledger rows and, past the horizon, its timetables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.errors import InvalidInput
from scheduler.planning.planner import Wanted, desired
from scheduler.playbacks import items as playing
from scheduler.playbacks.models import Playback, PlaybackStatus
from scheduler.stations.models import Station
from scheduler.streams.models import Stream
from scheduler.timetables import service as timetables

MAX_WINDOW = timedelta(days=92)
# what a calendar feed shows around now
FEED_PAST = timedelta(days=7)
FEED_AHEAD = timedelta(days=31)


@dataclass(frozen=True)
class AgendaItem:
    scheduled_at: datetime
    bulletin_id: int | None  # None for a relay (tiếp âm): stream_id names its stream
    title: str  # the bulletin's title, or the relayed stream's name
    duration_ms: int
    priority: str
    timetable_id: int | None
    playback_id: int | None  # None: projected from a timetable, not yet in the ledger
    status: str | None
    programme_id: int | None = None
    programme_position: int | None = None  # the item's place in its programme
    run_at: datetime | None = None  # when the item's run starts (a programme's first item)
    stream_id: int | None = None

    @property
    def end(self) -> datetime:
        return self.scheduled_at + timedelta(milliseconds=self.duration_ms)


def check_window(start: datetime, end: datetime) -> None:
    """Refuse a window that is inverted, naive or too long."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("Thời điểm cần múi giờ — from and to need a UTC offset or Z",
                           field="from")
    if end <= start:
        raise InvalidInput("Thời điểm kết thúc phải sau thời điểm bắt đầu — to must be after "
                           "from", field="to")
    if end - start > MAX_WINDOW:
        raise InvalidInput("Khoảng thời gian tối đa 92 ngày — the window may span 92 days at "
                           "most", field="to")


def agenda(*, session: Session, station: Station, start: datetime,
           end: datetime) -> list[AgendaItem]:
    """Return what the station will play in [start, end), in order; cancelled slots excluded."""
    check_window(start, end)
    rows = session.execute(
        playing.joined(select(Playback, playing.TITLE, playing.DURATION_MS))
        .where(Playback.station_id == station.id, Playback.scheduled_at >= start,
               Playback.scheduled_at < end,
               Playback.status != PlaybackStatus.CANCELLED.value)).all()
    items = [AgendaItem(p.scheduled_at, p.bulletin_id, title or "", duration or 0, p.priority,
                        p.timetable_id, p.id, p.status, p.programme_id, p.programme_position,
                        p.programme_run_at or p.scheduled_at, p.stream_id)
             for p, title, duration in rows]
    known = {(item.timetable_id, item.scheduled_at) for item in items}
    for timetable in timetables.active(session=session, now=start):
        if station not in timetable.stations:
            continue
        wanted = desired(session, timetable, start=start, end=end, only=station)
        for (_station_id, instant), want in sorted(wanted.items()):
            if instant < end and (timetable.id, instant) not in known:
                title, duration = _named(session, want)
                items.append(AgendaItem(instant, want.bulletin_id, title, duration,
                                        timetable.priority, timetable.id, None, None,
                                        want.programme_id, want.position, want.run_at,
                                        want.stream_id))
    return sorted(items, key=lambda i: (i.scheduled_at, i.playback_id or 0))


def _named(session: Session, want: Wanted) -> tuple[str, int]:
    """The title and length of a projected item: its bulletin's, or its stream's and span."""
    if want.stream_id is not None:
        stream = session.get(Stream, want.stream_id)
        return (stream.name if stream else f"#{want.stream_id}"), want.duration_ms or 0
    bulletin = session.get(Bulletin, want.bulletin_id)
    assert bulletin is not None
    return bulletin.title, bulletin.duration_ms


def feed_items(*, session: Session, station: Station, now: datetime) -> list[AgendaItem]:
    """What a station's calendar feed shows: a week back, a month ahead."""
    return agenda(session=session, station=station, start=now - FEED_PAST, end=now + FEED_AHEAD)
