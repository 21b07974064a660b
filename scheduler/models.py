"""Import every ORM model so the metadata is complete (for Alembic and tests)."""

from scheduler.bulletins.models import Bulletin
from scheduler.playbacks.models import Playback, PlaybackEvent
from scheduler.stations.models import Station
from scheduler.timetables.models import Timetable, timetable_stations
from scheduler.users.models import ApiToken, User

__all__ = ["ApiToken", "Bulletin", "Playback", "PlaybackEvent", "Station", "Timetable", "User",
           "timetable_stations"]
