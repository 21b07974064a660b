"""Choices of stations and groups for the timetable and emergency forms (web engineer B)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from scheduler.bulletins import service as bulletins
from scheduler.bulletins.models import Bulletin, BulletinStatus
from scheduler.groups import service as groups
from scheduler.groups.models import StationGroup
from scheduler.programmes import service as programmes
from scheduler.programmes.models import Programme
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.users.models import User

MAX_CHOICES = 2000


@dataclass(frozen=True)
class Choices:
    """What a form may pick from: approved bulletins, programmes, the user's stations, groups."""

    bulletins: list[Bulletin]
    stations: list[Station]
    groups: list[StationGroup]
    programmes: list[Programme]


def choices(*, session: Session, user: User) -> Choices:
    """Load the pickable bulletins, stations and groups for a user."""
    approved, _ = bulletins.listing(session=session, limit=MAX_CHOICES, offset=0,
                                    status=BulletinStatus.APPROVED.value, language=None)
    visible, _ = stations.listing(session=session, limit=MAX_CHOICES, offset=0,
                                  wards=user.wards)
    every_group, _ = groups.listing(session=session, limit=MAX_CHOICES, offset=0)
    live_programmes, _ = programmes.listing(session=session, limit=MAX_CHOICES, offset=0)
    return Choices(bulletins=approved, stations=visible, groups=every_group,
                   programmes=live_programmes)


def ids(values: list[str]) -> list[int]:
    """Keep the positive integer ids of a multi-value form field (checkboxes), in order."""
    found = [int(v) for v in values if v.strip().isdigit() and int(v) > 0]
    return list(dict.fromkeys(found))
