"""Take a bulletin off the lists: delete it when nothing names it, else archive it.

It sits above the domain folders because it asks timetables, programmes, broadcasts and
playbacks whether they name the bulletin; a bulletin that has been on air stays for the log.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from scheduler.broadcasts.models import Broadcast
from scheduler.bulletins import lifecycle
from scheduler.bulletins import service as bulletins
from scheduler.bulletins.models import BulletinStatus
from scheduler.bulletins.storage import MediaStore
from scheduler.errors import Conflict
from scheduler.playbacks.models import OPEN, Playback
from scheduler.programmes.models import ProgrammeItem
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.timetables.models import Timetable
from scheduler.users.models import User
from wardcast.protocol import utcnow


class Outcome(StrEnum):
    DELETED = "deleted"
    ARCHIVED = "archived"


class StillScheduled(Conflict):
    code = "bulletin_scheduled"


def remove(*, session: Session, store: MediaStore, bulletin_id: int, by: User) -> Outcome:
    """Delete a pending or rejected bulletin nothing names; archive one that was approved or
    is named by a timetable, programme, broadcast or playback (kept for the log)."""
    bulletin = bulletins.get(session=session, bulletin_id=bulletin_id)
    if bulletin.archived_at is not None:
        raise Conflict("Bản tin đã được lưu trữ từ trước — the bulletin is already archived",
                       field="bulletin_id", code="bulletin_archived")
    if by.wards is not None and _count(session, Playback.bulletin_id == bulletin.id,
                                       Playback.station_id == Station.id,
                                       Station.ward.not_in(by.wards)):
        # archiving hides it from every ward: only those who may see all its plays decide
        raise stations.OutsideWards("Bản tin này đã hoặc sẽ phát ở phường ngoài phạm vi của "
                                    "bạn: chỉ người quản lý các phường đó mới xoá hay lưu trữ "
                                    "được — the bulletin plays outside your wards",
                                    field="bulletin_id")
    if _still_scheduled(session, bulletin.id):
        raise StillScheduled(f"Bản tin «{bulletin.title}» còn lượt phát chưa diễn ra: hãy xóa "
                             "các lịch phát của nó trước — the bulletin still has playbacks to "
                             "come", field="bulletin_id")
    if bulletin.status == BulletinStatus.APPROVED or _named(session, bulletin.id):
        bulletin.archived_at = utcnow()
        bulletin.archived_by_id = by.id
        return Outcome.ARCHIVED
    files = (bulletin.sha256, bulletin.original_sha256)
    session.delete(bulletin)
    session.flush()
    lifecycle.let_go(session=session, store=store, sha256=files[0], original_sha256=files[1])
    return Outcome.DELETED


def _still_scheduled(session: Session, bulletin_id: int) -> bool:
    """Tell whether it has a playback to come, or a timetable (of its own or of a programme
    holding it) that may still plan one."""
    now = utcnow()
    in_programme = select(ProgrammeItem.programme_id).where(
        ProgrammeItem.bulletin_id == bulletin_id)
    live = and_(Timetable.deleted_at.is_(None),
                or_(Timetable.until.is_(None), Timetable.until >= now),
                or_(Timetable.recurrence.is_not(None), Timetable.starts_at >= now))
    return bool(_count(session, Playback.bulletin_id == bulletin_id, Playback.status.in_(OPEN))
                or _count(session, live, or_(Timetable.bulletin_id == bulletin_id,
                                             Timetable.programme_id.in_(in_programme))))


def _named(session: Session, bulletin_id: int) -> bool:
    """Tell whether anything (even a deleted timetable or a finished playback) names it."""
    return any(_count(session, column == bulletin_id)
               for column in (Playback.bulletin_id, Timetable.bulletin_id,
                              Broadcast.bulletin_id, ProgrammeItem.bulletin_id))


def _count(session: Session, *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).where(*where)) or 0
