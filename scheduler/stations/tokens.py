"""Registering a station and issuing it a new token, as the API and the web pages both do:
stored and audited; the broker is told once the request's unit of work has committed."""

from __future__ import annotations

from functools import partial

from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.audit.service import Actor
from scheduler.context import AppContext
from scheduler.stations import service
from scheduler.stations.models import Station
from scheduler.unitofwork import after_commit
from scheduler.users.models import User


def register(*, session: Session, runtime: AppContext, actor: Actor, user: User, name: str,
             ward: str, timezone: str | None) -> tuple[Station, str]:
    """Register a station in a ward the user may manage; return it and its token (shown
    once, never stored in clear). No time zone: the scheduler's."""
    service.check_ward(user, ward, field="ward")
    station, token = service.register(session=session, name=name, ward=ward,
                                      timezone=timezone or runtime.settings.timezone)
    audit.record(session=session, actor=actor, action="station.register",
                 target_type="station", target_id=station.id, name=station.name, ward=ward)
    if runtime.accounts:
        after_commit(session, partial(runtime.accounts.station_created, station.id, token))
    return station, token


def rotate(*, session: Session, runtime: AppContext, actor: Actor, user: User,
           station_id: int) -> tuple[Station, str]:
    """Issue a station a new token (the old one stops working at once); return both."""
    station, token = service.rotate_token(session=session, station_id=station_id, user=user)
    audit.record(session=session, actor=actor, action="station.rotate_token",
                 target_type="station", target_id=station.id)
    if runtime.accounts:
        after_commit(session, partial(runtime.accounts.token_changed, station.id, token))
    return station, token
