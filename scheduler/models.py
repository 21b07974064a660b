"""Import every ORM model so the metadata is complete (for Alembic and tests)."""

from scheduler.audit.models import AuditEvent
from scheduler.bulletins.models import Bulletin
from scheduler.playbacks.models import Playback, PlaybackEvent
from scheduler.stations.models import Station
from scheduler.timetables.models import Timetable, timetable_stations
from scheduler.users.models import ApiToken, LoginThrottle, User, UserWard

__all__ = ["ApiToken", "AuditEvent", "Bulletin", "LoginThrottle", "Playback", "PlaybackEvent",
           "Station", "Timetable", "User", "UserWard", "timetable_stations"]
