"""Import every ORM model so the metadata is complete (for Alembic and tests)."""

from scheduler.audit.models import AuditEvent
from scheduler.broadcasts.models import Broadcast
from scheduler.bulletins.models import Bulletin
from scheduler.catalogue.models import Source, Topic
from scheduler.controls.models import StationCommand
from scheduler.feeds.models import CalendarFeed
from scheduler.groups.models import StationGroup, group_members
from scheduler.live.models import LiveSession
from scheduler.playbacks.models import Playback, PlaybackEvent
from scheduler.programmes.models import Programme, ProgrammeItem
from scheduler.reports.drafts.models import ReportDraft
from scheduler.reports.kept.models import (
    Generation,
    Horizon,
    Kept,
    KeptCounted,
    KeptNotPlayed,
    KeptOnAir,
)
from scheduler.stations.models import Station
from scheduler.streams.models import Stream
from scheduler.timetables.models import Timetable, timetable_stations
from scheduler.users.models import ApiToken, LoginThrottle, User, UserWard

__all__ = ["ApiToken", "AuditEvent", "Broadcast", "Bulletin", "CalendarFeed", "Generation",
           "Horizon", "Kept", "KeptCounted", "KeptNotPlayed", "KeptOnAir", "LiveSession",
           "LoginThrottle", "Playback", "PlaybackEvent", "Programme", "ProgrammeItem",
           "ReportDraft", "Source", "Station", "StationCommand", "StationGroup", "Stream",
           "Timetable", "Topic", "User", "UserWard", "group_members", "timetable_stations"]
