"""The agenda as an iCalendar feed that calendar apps can subscribe to."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Response
from icalendar import Calendar, Event

from scheduler.agenda.service import AgendaItem
from scheduler.instants import said_at
from scheduler.stations.models import Station
from scheduler.words import playback_status_vi, priority_vi, station_vi


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
        event.add("description", describe(item, station))
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def describe(item: AgendaItem, station: Station) -> str:
    """Say an item in words a calendar shows people: its bulletin by name, local time, priority
    and state in Vietnamese."""
    part = (f" · mục {(item.programme_position or 0) + 1} của chương trình"
            if item.programme_id is not None else "")
    state = f" · {playback_status_vi(item.status)}" if item.status else ""
    return (f"«{item.title}»{part} · {said_at(item.scheduled_at, station.timezone)} giờ "
            f"của {station_vi(station.name)} · mức {priority_vi(item.priority)}{state}")


def response(station: Station, items: list[AgendaItem]) -> Response:
    """The feed as an answer calendar apps take (an inline .ics named after the station)."""
    return Response(feed(station, items), media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition":
                             f'inline; filename="station-{station.id}.ics"',
                             # a feed is private to whoever holds its address
                             "Cache-Control": "private, no-store"})
