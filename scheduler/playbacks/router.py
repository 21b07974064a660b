"""The playback log: filters, paging, CSV."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from scheduler.deps import RuntimeDep, SessionDep, UserDep
from scheduler.groups import service as groups
from scheduler.ids import IdPath, IdQuery, Offset
from scheduler.instants import AwareInstant
from scheduler.playbacks import service
from scheduler.playbacks.models import PlaybackStatus
from scheduler.playbacks.schemas import (
    PlaybackEventList,
    PlaybackEventRead,
    PlaybackList,
    PlaybackRead,
)

router = APIRouter(prefix="/playbacks", tags=["playbacks"])


@router.get("", response_model=PlaybackList, responses={
    200: {"content": {"text/csv": {}}, "description": "the log; CSV with ?format=csv"}})
def listing(session: SessionDep, user: UserDep, runtime: RuntimeDep,
            station_id: IdQuery = None,
            bulletin_id: IdQuery = None, group_id: IdQuery = None,
            programme_id: IdQuery = None,
            status: PlaybackStatus | None = None,
            at_risk: Annotated[bool, Query(description=(
                "only open playbacks whose station still lacks the plan (`planned`) or the "
                "media (`delivered`) with the slot less than WARDCAST_AT_RISK_LEAD_S ahead "
                "(default 10 minutes), or already past"))] = False,
            start: Annotated[AwareInstant | None, Query(alias="from")] = None,
            end: Annotated[AwareInstant | None, Query(alias="to")] = None,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Offset = 0,
            format: Literal["json", "csv"] = "json") -> PlaybackList | StreamingResponse:
    """List playbacks by slot (of a group's stations too); `?format=csv` gives every row;
    `?at_risk=true` only those at risk of being missed."""
    members = (tuple(groups.station_ids(session=session, group_ids=[group_id],
                                        field="group_id")) if group_id else None)
    filters = service.PlaybackFilter(station_id=station_id, bulletin_id=bulletin_id,
                                     status=status, start=start, end=end, wards=user.wards,
                                     station_ids=members, programme_id=programme_id,
                                     at_risk_by=service.at_risk_by(runtime.at_risk_lead)
                                     if at_risk else None)
    if format == "csv":
        rows = list(service.csv_rows(session=session, filters=filters))
        return StreamingResponse(iter(rows), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition":
                                          'attachment; filename="playbacks.csv"'})
    items, total = service.listing(session=session, filters=filters, limit=limit, offset=offset)
    return PlaybackList(items=[PlaybackRead.model_validate(p) for p in items], total=total)


@router.get("/{playback_id}")
def read(playback_id: IdPath, session: SessionDep, user: UserDep) -> PlaybackRead:
    """One playback."""
    return PlaybackRead.model_validate(service.get(session=session, playback_id=playback_id,
                                                   user=user))


@router.get("/{playback_id}/events")
def events(playback_id: IdPath, session: SessionDep, user: UserDep) -> PlaybackEventList:
    """Every event the station reported for this playback (its own clock, with offset)."""
    rows = service.events(session=session, playback_id=playback_id, user=user)
    return PlaybackEventList(items=[PlaybackEventRead.model_validate(e) for e in rows],
                             total=len(rows))
