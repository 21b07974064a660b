"""Create, change, list and delete programmes; the caller re-plans what uses them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.bulletins import service as bulletins
from scheduler.bulletins.models import Bulletin, BulletinStatus
from scheduler.errors import Conflict, InvalidInput, NotFound
from scheduler.programmes import layout
from scheduler.programmes.models import Programme, ProgrammeItem
from scheduler.programmes.schemas import ProgrammeCreate, ProgrammeItemIn, ProgrammeUpdate
from scheduler.timetables.models import Timetable
from scheduler.users.models import User
from wardcast.protocol import utcnow


class ProgrammeNotFound(NotFound):
    code = "programme_not_found"


def get(*, session: Session, programme_id: int, field: str = "programme_id") -> Programme:
    """Return a live programme or raise ProgrammeNotFound."""
    programme = session.get(Programme, programme_id)
    if programme is None or programme.deleted_at is not None:
        raise ProgrammeNotFound(f"Không tìm thấy chương trình {programme_id} — programme not "
                                "found", field=field)
    return programme


def get_schedulable(*, session: Session, programme_id: int,
                    field: str = "programme_id") -> Programme:
    """Return a programme whose every bulletin is approved, or say which one is not."""
    programme = get(session=session, programme_id=programme_id, field=field)
    for item in programme.items:
        bulletin = session.get(Bulletin, item.bulletin_id)
        if bulletin is not None and bulletin.archived_at is not None:
            bulletins.get_approved(session=session, bulletin_id=bulletin.id, field=field)
        if bulletin is None or bulletin.status != BulletinStatus.APPROVED:
            status = bulletin.status if bulletin else "missing"
            raise Conflict(f"Chương trình {programme_id}: bản tin {item.bulletin_id} (mục "
                           f"{item.position + 1}) chưa được duyệt — bulletin {item.bulletin_id} "
                           f"is {status}, only programmes of approved bulletins can be "
                           "scheduled", field=field, code="bulletin_not_approved")
    return programme


def _items(session: Session, given: list[ProgrammeItemIn]) -> list[ProgrammeItem]:
    known = set(session.scalars(select(Bulletin.id).where(
        Bulletin.id.in_({item.bulletin_id for item in given}))))
    for index, item in enumerate(given):
        if item.bulletin_id not in known:
            raise bulletins.BulletinNotFound(
                f"Không tìm thấy bản tin {item.bulletin_id} (mục {index + 1}) — bulletin not "
                "found", field=f"items.{index}.bulletin_id")
    return [ProgrammeItem(position=index, bulletin_id=item.bulletin_id,
                          gap_after_ms=item.gap_after_ms) for index, item in enumerate(given)]


def create(*, session: Session, data: ProgrammeCreate, by: User) -> Programme:
    """Store a programme; every bulletin must exist (approval is checked when scheduled)."""
    now = utcnow()
    programme = Programme(title=data.title.strip(), created_at=now, updated_at=now,
                          created_by_id=by.id, items=_items(session, data.items))
    session.add(programme)
    session.flush()
    _check_length(session, programme)
    return programme


def update(*, session: Session, programme_id: int, change: ProgrammeUpdate) -> Programme:
    """Rename a programme or replace its items (the caller re-plans its timetables)."""
    programme = get(session=session, programme_id=programme_id)
    if change.title is not None:
        programme.title = change.title.strip()
    if change.items is not None:
        items = _items(session, change.items)
        programme.items.clear()
        session.flush()  # the old rows go first: positions are the key
        programme.items.extend(items)
    programme.updated_at = utcnow()
    session.flush()
    _check_length(session, programme)
    return programme


def _check_length(session: Session, programme: Programme) -> None:
    length = layout.span(layout.parts(session, programme))
    if length > layout.MAX_RUN:
        hours = layout.MAX_RUN // timedelta(hours=1)
        raise InvalidInput(f"Chương trình dài quá {hours} giờ — a programme may last "
                           f"{hours} hours at most, items and gaps together", field="items")


def timetables_using(*, session: Session, programme_id: int) -> list[Timetable]:
    """Return the live timetables that play a programme."""
    return list(session.scalars(select(Timetable).where(
        Timetable.programme_id == programme_id, Timetable.deleted_at.is_(None))
        .order_by(Timetable.id)))


def delete(*, session: Session, programme_id: int) -> Programme:
    """Mark a programme deleted; refused while a live timetable still plays it."""
    programme = get(session=session, programme_id=programme_id)
    users = timetables_using(session=session, programme_id=programme_id)
    if users:
        raise Conflict(f"Chương trình {programme_id} đang được dùng trong lịch phát "
                       f"{users[0].id} — programme is used by timetable {users[0].id}; "
                       "delete the timetable first", field="programme_id",
                       code="programme_in_use")
    programme.deleted_at = utcnow()
    return programme


def listing(*, session: Session, limit: int, offset: int) -> tuple[list[Programme], int]:
    """Return a page of live programmes, newest first, and the total."""
    query = select(Programme).where(Programme.deleted_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Programme.id.desc()).limit(limit).offset(offset))
    return list(rows), total
