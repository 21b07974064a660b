"""Names for the ids in log rows (stations, bulletins), looked up once per page."""

from __future__ import annotations

from sqlalchemy.orm import Session

from scheduler.bulletins import service as bulletins
from scheduler.errors import NotFound
from scheduler.stations import service as stations


class Names:
    """Resolve ids to display names through the domain services, remembering each answer."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._stations: dict[int, str] = {}
        self._bulletins: dict[int, str] = {}
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
