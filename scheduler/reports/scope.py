"""What a report is asked to cover: a period, and the wards a user may see."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.errors import InvalidInput, NotFound
from scheduler.reports import periods
from scheduler.reports.cutoffs import Cutoffs
from scheduler.reports.periods import Period
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.users.models import User

MAX_WARDS = 1000


class WardNotFound(NotFound):
    code = "ward_not_found"


def period(*, name: str | None, first: date | None, last: date | None, timezone: str,
           cutoffs: Cutoffs) -> Period:
    """Return the period asked for: by name (2026-H1, 2026) or by its first and last dates."""
    if name is not None and (first is not None or last is not None):
        raise InvalidInput("Chỉ chọn một cách: kỳ báo cáo (period) hoặc khoảng ngày (from, to) "
                           "— give either period or from and to, not both", field="period")
    if name is not None:
        return periods.named(name, timezone=timezone, cutoffs=cutoffs)
    if first is None and last is None:
        raise InvalidInput("Cần chọn kỳ báo cáo (period, ví dụ 2026-H1) hoặc khoảng ngày "
                           "(from, to) — give period (e.g. 2026-H1) or from and to",
                           field="period")
    if first is None or last is None:
        missing = "from" if first is None else "to"
        raise InvalidInput(f"Thiếu ngày {missing} — give both from and to", field=missing)
    return periods.between(first, last, timezone=timezone)


def wards(*, session: Session, asked: Sequence[str] | None, user: User | None
          ) -> list[str] | None:
    """Return the wards a report covers (None: all), checking that the user may see them.

    A ward-limited user asking nothing gets their own wards; asking for another ward is
    refused without saying whether it exists. A ward no station has ever had is not found.
    """
    limit = user.wards if user is not None else None
    if not asked:
        return sorted(limit) if limit is not None else None
    chosen = list(dict.fromkeys(ward.strip() for ward in asked))
    if len(chosen) > MAX_WARDS or any(not ward for ward in chosen):
        raise InvalidInput(f"Phường không hợp lệ (để trống, hoặc quá {MAX_WARDS} phường) — "
                           f"a ward is empty, or more than {MAX_WARDS} were given",
                           field="ward")
    for ward in chosen:
        stations.check_ward(user, ward, field="ward")
    known = set(session.scalars(select(Station.ward).where(Station.ward.in_(chosen))
                                .distinct()))
    unknown = [ward for ward in chosen if ward not in known]
    if unknown:
        raise WardNotFound(f"Không có trạm nào thuộc phường {', '.join(unknown)} — no station "
                           f"in ward(s) {', '.join(unknown)}", field="ward")
    return sorted(chosen)


def visible_wards(*, session: Session, user: User) -> list[str]:
    """Return the wards a user may pick for a report: those of the stations they may see."""
    query = select(Station.ward).distinct().order_by(Station.ward)
    if user.wards is not None:
        query = query.where(Station.ward.in_(sorted(user.wards)))
    return list(session.scalars(query))
