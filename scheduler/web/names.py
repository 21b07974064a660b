"""Names for the ids in log rows (stations, bulletins), looked up once per page."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from scheduler.bulletins import service as bulletins
from scheduler.errors import NotFound
from scheduler.stations import service as stations
from scheduler.streams import service as streams


class Plays(Protocol):
    """A row that plays a bulletin or relays a stream (a playback, a timetable)."""

    @property
    def bulletin_id(self) -> int | None: ...

    @property
    def stream_id(self) -> int | None: ...


class Names:
    """Resolve ids to display names through the domain services, remembering each answer."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._stations: dict[int, str] = {}
        self._bulletins: dict[int, str] = {}
        self._streams: dict[int, str] = {}
        self._zones: dict[int, str] = {}

    def station(self, station_id: int) -> str:
        if station_id not in self._stations:
            try:
                found = stations.get(session=self.session, station_id=station_id)
                self._stations[station_id] = found.name
                self._zones[station_id] = found.timezone
            except NotFound:
                self._stations[station_id] = f"#{station_id}"
        return self._stations[station_id]

    def zone(self, station_id: int, default: str) -> str:
        """The station's own time zone, for showing its slots in local time."""
        self.station(station_id)
        return self._zones.get(station_id, default)

    def bulletin(self, bulletin_id: int) -> str:
        if bulletin_id not in self._bulletins:
            try:
                self._bulletins[bulletin_id] = bulletins.get(session=self.session,
                                                             bulletin_id=bulletin_id).title
            except NotFound:
                self._bulletins[bulletin_id] = f"#{bulletin_id}"
        return self._bulletins[bulletin_id]

    def stream(self, stream_id: int) -> str:
        if stream_id not in self._streams:
            try:
                self._streams[stream_id] = streams.get(session=self.session,
                                                       stream_id=stream_id, live=True).name
            except NotFound:
                self._streams[stream_id] = f"#{stream_id}"
        return self._streams[stream_id]

    def item(self, row: Plays) -> str:
        """What a row plays, by name: its bulletin's title, or its stream's name."""
        if row.stream_id is not None:
            return self.stream(row.stream_id)
        return self.bulletin(row.bulletin_id) if row.bulletin_id is not None else "?"
