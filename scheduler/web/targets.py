"""Choices of stations and groups for the timetable and emergency forms (web engineer B)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from scheduler.bulletins import service as bulletins
from scheduler.bulletins.models import Bulletin, BulletinStatus
from scheduler.groups import service as groups
from scheduler.groups.models import StationGroup
from scheduler.programmes import service as programmes
from scheduler.programmes.models import Programme
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.streams import service as streams
from scheduler.streams.models import Stream
from scheduler.users.models import User

MAX_CHOICES = 2000


@dataclass(frozen=True)
class GroupChoice:
    """A group as a user may pick it: its name and how many of their stations it holds."""

    id: int
    name: str
    size: int

    @classmethod
    def of(cls, group: StationGroup, wards: frozenset[str] | None) -> GroupChoice:
        return cls(id=group.id, name=group.name, size=len(groups.members_in(group, wards)))


@dataclass(frozen=True)
class Choices:
    """What a form may pick from: approved bulletins, programmes, the user's stations, the
    groups reaching them."""

    bulletins: list[Bulletin]
    stations: list[Station]
    groups: list[GroupChoice]
    programmes: list[Programme]
    streams: list[Stream] = field(default_factory=list)  # to relay (tiếp âm)


def choices(*, session: Session, user: User) -> Choices:
    """Load the pickable bulletins, stations and groups for a user."""
    approved, _ = bulletins.listing(session=session, limit=MAX_CHOICES, offset=0,
                                    status=BulletinStatus.APPROVED.value, language=None)
    visible, _ = stations.listing(session=session, limit=MAX_CHOICES, offset=0,
                                  wards=user.wards)
    reaching, _ = groups.listing(session=session, limit=MAX_CHOICES, offset=0,
                                 wards=user.wards)
    live_programmes, _ = programmes.listing(session=session, limit=MAX_CHOICES, offset=0)
    relayable, _ = streams.listing(session=session, limit=MAX_CHOICES, offset=0)
    return Choices(bulletins=approved, stations=visible,
                   groups=[GroupChoice.of(g, user.wards) for g in reaching],
                   programmes=live_programmes, streams=relayable)


def ids(values: list[str]) -> list[int]:
    """Keep the positive integer ids of a multi-value form field (checkboxes), in order."""
    found = [int(v) for v in values if v.strip().isdigit() and int(v) > 0]
    return list(dict.fromkeys(found))
