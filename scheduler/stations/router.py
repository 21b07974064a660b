"""Station routes."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.deps import AdminDep, RuntimeDep, SessionDep, UserDep, actor
from scheduler.ids import IdPath, Offset
from scheduler.planning import replanning
from scheduler.playbacks import service as playbacks
from scheduler.stations import service, tokens
from scheduler.stations.models import Station
from scheduler.stations.schemas import (
    StationCreate,
    StationList,
    StationRead,
    StationUpdate,
    StationWithToken,
)
from scheduler.unitofwork import after_commit

router = APIRouter(prefix="/stations", tags=["stations"])


@router.post("", status_code=201)
def register(body: StationCreate, request: Request, session: SessionDep, runtime: RuntimeDep,
             user: AdminDep) -> StationWithToken:
    """Register a station; its token is shown only in this answer."""
    station, token = tokens.register(session=session, runtime=runtime,
                                     actor=actor(request, user), user=user,
                                     name=body.name.strip(), ward=body.ward.strip(),
                                     timezone=body.timezone)
    return StationWithToken(**StationRead.model_validate(station).model_dump(), token=token)


@router.post("/{station_id}/token")
def rotate(station_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
           user: AdminDep) -> StationWithToken:
    """Issue a new token; the old one stops working at once."""
    station, token = tokens.rotate(session=session, runtime=runtime, actor=actor(request, user),
                                   user=user, station_id=station_id)
    return StationWithToken(**StationRead.model_validate(station).model_dump(), token=token)


@router.patch("/{station_id}")
def update(station_id: IdPath, body: StationUpdate, request: Request, session: SessionDep,
           runtime: RuntimeDep, user: AdminDep) -> StationRead:
    """Rename a station, change its time zone or quiet hours; its plan is re-made."""
    given = body.model_fields_set
    quiet = ((body.quiet_start, body.quiet_end)
             if "quiet_start" in given or "quiet_end" in given else None)
    station = replanning.update_station(session=session, station_id=station_id, user=user,
                                        name=body.name, timezone=body.timezone, quiet=quiet,
                                        horizon=runtime.horizon)
    audit.record(session=session, actor=actor(request, user), action="station.update",
                 target_type="station", target_id=station.id,
                 **body.model_dump(exclude_unset=True))
    return StationRead.model_validate(station)


@router.post("/{station_id}/revoke")
def revoke(station_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
           user: AdminDep) -> StationRead:
    """Withdraw the station's token; its connections are dropped at once."""
    station = service.revoke(session=session, station_id=station_id, user=user)
    audit.record(session=session, actor=actor(request, user), action="station.revoke",
                 target_type="station", target_id=station.id)
    if runtime.accounts:
        after_commit(session, partial(runtime.accounts.station_revoked, station.id))
    return StationRead.model_validate(station)


@router.get("")
def listing(session: SessionDep, runtime: RuntimeDep, user: UserDep,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Offset = 0) -> StationList:
    """List the stations you may see, with their availability and playbacks at risk."""
    rows, total = service.listing(session=session, limit=limit, offset=offset, wards=user.wards)
    return StationList(items=_with_risk(session, runtime.at_risk_lead, rows), total=total)


@router.get("/{station_id}")
def read(station_id: IdPath, session: SessionDep, runtime: RuntimeDep,
         user: UserDep) -> StationRead:
    """One station."""
    [station] = _with_risk(session, runtime.at_risk_lead,
                           [service.get(session=session, station_id=station_id, user=user)])
    return station


def _with_risk(session: Session, lead: timedelta, stations: list[Station]) -> list[StationRead]:
    """Read stations with how many of their playbacks are at risk now."""
    counts = playbacks.at_risk_counts(session=session, station_ids=[s.id for s in stations],
                                      by=playbacks.at_risk_by(lead))
    return [StationRead.model_validate(s).model_copy(update={"at_risk": counts.get(s.id, 0)})
            for s in stations]
