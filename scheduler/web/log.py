"""The playback log page: filters, paging, and the same rows as CSV or XLSX from the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from scheduler.bulletins import service as bulletins
from scheduler.deps import RuntimeDep, SessionDep
from scheduler.errors import InvalidInput
from scheduler.groups import service as groups
from scheduler.ids import Offset
from scheduler.playbacks import service as playbacks
from scheduler.playbacks.models import PlaybackStatus
from scheduler.stations import service as stations
from scheduler.users.models import User
from scheduler.web import format as fmt
from scheduler.web.names import Names
from scheduler.web.paging import Pager
from scheduler.web.session import PageUser
from scheduler.web.templating import language, render
from wardcast.protocol import DB_INT, to_wire

router = APIRouter()
PAGE_SIZE = 50
Field = Annotated[str, Query(max_length=40)]


@dataclass(frozen=True)
class LogQuery:
    """The log filters as typed in the form (empty means "any")."""

    start: str = ""
    end: str = ""
    station_id: str = ""
    group_id: str = ""
    bulletin_id: str = ""
    status: str = ""
    at_risk: str = ""  # "1": only playbacks at risk of being missed

    def form(self) -> dict[str, str]:
        return {"from": self.start, "to": self.end, "station_id": self.station_id,
                "group_id": self.group_id, "bulletin_id": self.bulletin_id,
                "status": self.status, "at_risk": self.at_risk}

    def instants(self, zone: str) -> tuple[datetime | None, datetime | None]:
        """The first and last day, in the zone, as UTC instants (the last day included)."""
        start = fmt.day_input(self.start, field="from")
        end = fmt.day_input(self.end, field="to")
        tz = ZoneInfo(zone)
        return (datetime.combine(start, datetime.min.time(), tz) if start else None,
                datetime.combine(end + timedelta(days=1), datetime.min.time(), tz)
                if end else None)

    def filters(self, *, session: Session, user: User, zone: str,
                at_risk_lead: timedelta) -> playbacks.PlaybackFilter:
        start, end = self.instants(zone)
        group = _id(self.group_id, "group_id")
        members = (tuple(groups.station_ids(session=session, group_ids=[group],
                                            field="group_id")) if group else None)
        return playbacks.PlaybackFilter(
            station_id=_id(self.station_id, "station_id"), station_ids=members,
            bulletin_id=_id(self.bulletin_id, "bulletin_id"), start=start, end=end,
            status=PlaybackStatus(self.status) if self.status in set(PlaybackStatus) else None,
            wards=user.wards,
            at_risk_by=playbacks.at_risk_by(at_risk_lead) if self.at_risk else None)

    def download_url(self, zone: str, *, format: str, lang: str) -> str:
        """The API address that downloads the same rows as a file (csv or xlsx)."""
        start, end = self.instants(zone)
        params = {"format": format, "lang": lang, "station_id": self.station_id,
                  "group_id": self.group_id, "bulletin_id": self.bulletin_id,
                  "status": self.status,
                  "from": to_wire(start) if start else "", "to": to_wire(end) if end else "",
                  "at_risk": "true" if self.at_risk else ""}
        return "/api/v1/playbacks?" + urlencode({k: v for k, v in params.items() if v})


def _id(value: str, field: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= DB_INT:
        raise InvalidInput(f"Mã không hợp lệ ở trường {field} — invalid {field}", field=field)
    return int(value)


@router.get("/log", response_class=HTMLResponse)
def log_page(request: Request, session: SessionDep, runtime: RuntimeDep, user: PageUser,
             start: Annotated[str, Query(alias="from", max_length=40)] = "",
             end: Annotated[str, Query(alias="to", max_length=40)] = "",
             station_id: Field = "", group_id: Field = "", bulletin_id: Field = "",
             status: Field = "", at_risk: Annotated[str, Query(max_length=5)] = "",
             offset: Offset = 0) -> HTMLResponse:
    """The playback log, filtered and paged; each slot in its station's time."""
    zone = runtime.settings.timezone
    query = LogQuery(start, end, station_id, group_id, bulletin_id, status,
                     "1" if at_risk else "")
    rows, total = playbacks.listing(session=session, limit=PAGE_SIZE, offset=offset,
                                    filters=query.filters(session=session, user=user, zone=zone,
                                                          at_risk_lead=runtime.at_risk_lead))
    station_rows, _ = stations.listing(session=session, limit=1000, offset=0, wards=user.wards)
    group_rows, _ = groups.listing(session=session, limit=500, offset=0, wards=user.wards)
    bulletin_rows, _ = bulletins.listing(session=session, limit=200, offset=0, status=None,
                                         language=None, archived=None)  # archived ones too
    lang = language(request)
    return render(request, "log/list.html", rows=rows, names=Names(session), query=query,
                  pager=Pager("/log", query.form(), total, offset, PAGE_SIZE),
                  csv_url=query.download_url(zone, format="csv", lang=lang),
                  xlsx_url=query.download_url(zone, format="xlsx", lang=lang),
                  stations=station_rows, groups=group_rows,
                  bulletins=bulletin_rows, statuses=list(PlaybackStatus))
