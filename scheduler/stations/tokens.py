"""Registering a station and issuing it a new token, as the API and the web pages both do:
stored, audited, committed, and only then told to the broker.

These two commit by themselves rather than leave it to the request's unit of work: told from
the unit of work's after-commit work instead, 64 registrations at once (as `wardcast simulate`
makes them) stalled until the connection pool gave out, and none of 200 was answered
(tests/broker/test_supervised_mosquitto.py).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.audit.service import Actor
from scheduler.context import AppContext
from scheduler.stations import service
from scheduler.stations.models import Station
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
    session.commit()
    if runtime.accounts:
        runtime.accounts.station_created(station.id, token)
    return station, token


def rotate(*, session: Session, runtime: AppContext, actor: Actor, user: User,
           station_id: int) -> tuple[Station, str]:
    """Issue a station a new token (the old one stops working at once); return both."""
    station, token = service.rotate_token(session=session, station_id=station_id, user=user)
    audit.record(session=session, actor=actor, action="station.rotate_token",
                 target_type="station", target_id=station.id)
    session.commit()
    if runtime.accounts:
        runtime.accounts.token_changed(station.id, token)
    return station, token
