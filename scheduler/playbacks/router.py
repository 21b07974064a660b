"""The playback log: filters, paging, CSV and XLSX."""

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
from scheduler.web import logfiles
from wardcast.csvcells import csv_media_type

router = APIRouter(prefix="/playbacks", tags=["playbacks"])


FILES = {"csv": csv_media_type(bom=True), "xlsx": logfiles.XLSX_TYPE}


@router.get("", response_model=PlaybackList, responses={200: {
    "content": {media_type: {} for media_type in FILES.values()},
    "description": "the log; every row as a file with ?format=csv or ?format=xlsx"}})
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
            format: Literal["json", "csv", "xlsx"] = "json",
            lang: Annotated[Literal["vi", "en"], Query(description=(
                "csv and xlsx: the language of the names, labels and headers that stand "
                "beside the API's own fields (those keep their names)"))] = "vi",
            bom: Annotated[bool, Query(description=(
                "csv: start with a UTF-8 byte order mark, which Excel needs to read "
                "Vietnamese; false for a tool that cannot skip it"))] = True,
            ) -> PlaybackList | StreamingResponse:
    """List playbacks by slot (of a group's stations too); `?format=csv` or `xlsx` gives
    every row, named and in the station's local time too; `?at_risk=true` only those at risk
    of being missed."""
    members = (tuple(groups.station_ids(session=session, group_ids=[group_id],
                                        field="group_id")) if group_id else None)
    filters = service.PlaybackFilter(station_id=station_id, bulletin_id=bulletin_id,
                                     status=status, start=start, end=end, wards=user.wards,
                                     station_ids=members, programme_id=programme_id,
                                     at_risk_by=service.at_risk_by(runtime.at_risk_lead)
                                     if at_risk else None)
    zone = runtime.settings.timezone
    if format == "csv":
        return StreamingResponse(
            logfiles.csv_chunks(db=runtime.db, filters=filters, lang=lang, zone=zone, bom=bom),
            media_type=csv_media_type(bom=bom), headers=_attachment("playbacks.csv"))
    if format == "xlsx":
        handle = logfiles.xlsx_file(session=session, filters=filters, lang=lang, zone=zone,
                                    scratch=runtime.store.incoming)
        return StreamingResponse(
            logfiles.file_chunks(handle), media_type=FILES["xlsx"],
            headers=_attachment("playbacks.xlsx") | {
                "Content-Length": str(logfiles.size(handle))})
    items, total = service.listing(session=session, filters=filters, limit=limit, offset=offset)
    return PlaybackList(items=[PlaybackRead.model_validate(p) for p in items], total=total)


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


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
