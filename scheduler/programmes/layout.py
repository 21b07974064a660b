"""Where each item of a run falls: offsets from the run's start, from durations and gaps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin
from scheduler.programmes.models import Programme
from scheduler.timetables.models import Timetable

MS = timedelta(milliseconds=1)
# A run may last this long at most (conflicts look this far around a slot) …
MAX_RUN = timedelta(hours=6)
# … but a relay, one item, up to a day (conflicts look for relays that far back on their own)
MAX_RELAY = timedelta(hours=24)


@dataclass(frozen=True)
class Part:
    """One item of a run; position is None for a lone bulletin or relay (no programme)."""

    position: int | None
    bulletin_id: int | None  # None for a relay: it names its stream instead
    offset: timedelta
    duration: timedelta
    stream_id: int | None = None

    @property
    def end(self) -> timedelta:
        return self.offset + self.duration


def parts(session: Session, programme: Programme) -> list[Part]:
    """Lay out a programme: item k starts after items 0..k-1 and their gaps."""
    ids = [item.bulletin_id for item in programme.items]
    durations: dict[int, int] = dict(session.execute(
        select(Bulletin.id, Bulletin.duration_ms).where(Bulletin.id.in_(ids))).all())
    laid: list[Part] = []
    offset = timedelta(0)
    for item in programme.items:
        duration = timedelta(milliseconds=durations.get(item.bulletin_id, 0))
        laid.append(Part(item.position, item.bulletin_id, offset, duration))
        offset += duration + timedelta(milliseconds=item.gap_after_ms)
    return laid


def lone(bulletin: Bulletin) -> list[Part]:
    """The one part of a timetable that plays a single bulletin."""
    return [Part(None, bulletin.id, timedelta(0), timedelta(milliseconds=bulletin.duration_ms))]


def bulletin_ids(laid: list[Part]) -> list[int]:
    """The bulletins a run plays (a relay plays none)."""
    return sorted({p.bulletin_id for p in laid if p.bulletin_id is not None})


def span(laid: list[Part]) -> timedelta:
    """How long a run lasts, from its first item's start to its last item's end."""
    return max((p.end for p in laid), default=timedelta(0))


def for_timetable(session: Session, timetable: Timetable) -> list[Part]:
    """Lay out one run of a timetable: its programme's items, its one bulletin or relay."""
    if timetable.stream_id is not None:
        assert timetable.duration_s is not None  # the schema asks for both
        return [Part(None, None, timedelta(0), timedelta(seconds=timetable.duration_s),
                     stream_id=timetable.stream_id)]
    if timetable.programme_id is not None:
        programme = session.get(Programme, timetable.programme_id)
        assert programme is not None
        return parts(session, programme)
    bulletin = session.get(Bulletin, timetable.bulletin_id)
    assert bulletin is not None
    return lone(bulletin)
