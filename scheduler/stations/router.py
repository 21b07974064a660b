"""Station routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from scheduler.deps import AdminDep, RuntimeDep, SessionDep, UserDep
from scheduler.stations import service
from scheduler.stations.schemas import StationCreate, StationList, StationRead, StationWithToken

router = APIRouter(prefix="/stations", tags=["stations"])


@router.post("", status_code=201)
def register(body: StationCreate, session: SessionDep, runtime: RuntimeDep,
             _user: AdminDep) -> StationWithToken:
    """Register a station; its token is shown only in this answer."""
    station, token = service.register(session=session, name=body.name.strip(),
                                      ward=body.ward.strip(),
                                      timezone=body.timezone or runtime.settings.timezone)
    session.commit()
    if runtime.accounts:
        runtime.accounts.station_created(station.id, token)
    return StationWithToken(**StationRead.model_validate(station).model_dump(), token=token)


@router.post("/{station_id}/token")
def rotate(station_id: int, session: SessionDep, runtime: RuntimeDep,
           _user: AdminDep) -> StationWithToken:
    """Issue a new token; the old one stops working at once."""
    station, token = service.rotate_token(session=session, station_id=station_id)
    session.commit()
    if runtime.accounts:
        runtime.accounts.token_changed(station.id, token)
    return StationWithToken(**StationRead.model_validate(station).model_dump(), token=token)


@router.get("")
def listing(session: SessionDep, _user: UserDep,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Annotated[int, Query(ge=0)] = 0) -> StationList:
    """List stations with their availability."""
    rows, total = service.listing(session=session, limit=limit, offset=offset)
    return StationList(items=[StationRead.model_validate(s) for s in rows], total=total)


@router.get("/{station_id}")
def read(station_id: int, session: SessionDep, _user: UserDep) -> StationRead:
    """One station."""
    return StationRead.model_validate(service.get(session=session, station_id=station_id))
