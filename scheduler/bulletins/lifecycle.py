"""A bulletin's audio replaced while it waits for approval, and its files let go of."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.bulletins import service
from scheduler.bulletins.models import Bulletin, BulletinStatus
from scheduler.bulletins.storage import MediaStore
from scheduler.errors import Conflict
from scheduler.unitofwork import after_commit
from scheduler.users.models import User


class NotReplaceable(Conflict):
    code = "bulletin_not_pending"


def replace_audio(*, session: Session, store: MediaStore, bulletin_id: int, upload: Path,
                  filename: str | None, by: User, target_lufs: float,
                  true_peak: float) -> Bulletin:
    """Give a pending bulletin new audio (processed as an upload is); its old files go once
    the change is committed and no other bulletin uses them."""
    try:
        bulletin = service.get(session=session, bulletin_id=bulletin_id)
        _check_replaceable(bulletin)
        old = (bulletin.sha256, bulletin.original_sha256)
        processed, original_sha = service.ingest(upload, store=store, target_lufs=target_lufs,
                                                 true_peak=true_peak)
    finally:
        upload.unlink(missing_ok=True)
    service.set_audio(bulletin, processed, original_sha256=original_sha, filename=filename)
    session.flush()
    let_go(session=session, store=store, sha256=old[0], original_sha256=old[1])
    return bulletin


def _check_replaceable(bulletin: Bulletin) -> None:
    if bulletin.archived_at is not None:
        raise NotReplaceable("Bản tin đã được lưu trữ: không thể thay âm thanh — the bulletin "
                             "is archived", field="file")
    if bulletin.status == BulletinStatus.APPROVED:
        raise NotReplaceable("Bản tin đã được duyệt nên không thể thay âm thanh: hãy tải lên "
                             "một bản tin mới — an approved bulletin's audio cannot be "
                             "replaced", field="file")
    if bulletin.status != BulletinStatus.PENDING:
        raise NotReplaceable("Bản tin đã bị từ chối: chỉ thay được âm thanh của bản tin đang "
                             "chờ duyệt; hãy tải lên một bản tin mới — only a pending "
                             "bulletin's audio can be replaced", field="file")


def let_go(*, session: Session, store: MediaStore, sha256: str, original_sha256: str) -> None:
    """After the commit, remove the files that no bulletin in the session's view uses."""
    dist_used = session.scalar(select(func.count()).select_from(Bulletin)
                              .where(Bulletin.sha256 == sha256))
    original_used = session.scalar(select(func.count()).select_from(Bulletin)
                                   .where(Bulletin.original_sha256 == original_sha256))
    after_commit(session, partial(store.discard, sha256=None if dist_used else sha256,
                                  original_sha256=None if original_used else original_sha256))
