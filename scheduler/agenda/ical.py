"""The agenda as an iCalendar feed that calendar apps can subscribe to."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Response
from icalendar import Calendar, Event

from scheduler.agenda.service import AgendaItem
from scheduler.stations.models import Station


def feed(station: Station, items: list[AgendaItem]) -> bytes:
    """Render one VEVENT per agenda item (UTC times; the station's zone as X-WR-TIMEZONE)."""
    calendar = Calendar()
    calendar.add("prodid", "-//wardcast//agenda//VI")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"wardcast – {station.name}")
    calendar.add("x-wr-timezone", station.timezone)
    for item in items:
        event = Event()
        uid = (f"playback-{item.playback_id}" if item.playback_id is not None
               else f"timetable-{item.timetable_id}-{item.scheduled_at:%Y%m%dT%H%M%SZ}")
        event.add("uid", f"{uid}-station-{station.id}@wardcast")
        event.add("dtstamp", item.scheduled_at)
        event.add("dtstart", item.scheduled_at)
        event.add("dtend", item.scheduled_at + timedelta(milliseconds=max(item.duration_ms, 1000)))
        event.add("summary", item.title)
        event.add("categories", [item.priority])
        part = (f" · chương trình {item.programme_id}, mục {(item.programme_position or 0) + 1}"
                if item.programme_id is not None else "")
        event.add("description", f"Bản tin {item.bulletin_id}{part} · ưu tiên {item.priority}"
                                 + (f" · {item.status}" if item.status else ""))
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def response(station: Station, items: list[AgendaItem]) -> Response:
    """The feed as an answer calendar apps take (an inline .ics named after the station)."""
    return Response(feed(station, items), media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition":
                             f'inline; filename="station-{station.id}.ics"',
                             # a feed is private to whoever holds its address
                             "Cache-Control": "private, no-store"})
