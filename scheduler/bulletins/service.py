"""Turn an uploaded file into a bulletin; approve or reject it; find bulletins."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import media
from scheduler.bulletins.models import Bulletin, BulletinStatus
from scheduler.bulletins.schemas import BulletinUpdate
from scheduler.bulletins.storage import MediaStore, display_name, hostile_name
from scheduler.catalogue import service as catalogue
from scheduler.catalogue.service import Kind
from scheduler.errors import Conflict, Forbidden, InvalidInput, NotFound, UnsupportedMedia
from scheduler.users.models import User
from scheduler.words import bulletin_status_vi
from wardcast.protocol import utcnow

LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


class BulletinNotFound(NotFound):
    code = "bulletin_not_found"


class AudioRejected(InvalidInput):
    """An upload that is not usable audio; its code is the media error's."""


def check_metadata(*, title: str, language: str, category: str | None) -> tuple[str, str,
                                                                                  str | None]:
    """Validate the form fields that come with an upload."""
    title = title.strip()
    if not 1 <= len(title) <= 200:
        raise InvalidInput("Tiêu đề phải có từ 1 đến 200 ký tự — title must be 1–200 characters",
                           field="title")
    if not LANGUAGE_RE.match(language):
        raise InvalidInput("Mã ngôn ngữ không hợp lệ (ví dụ: vi, rad, jra, cmo) — "
                           "language must be a BCP 47 / ISO 639 code", field="language")
    category = (category or "").strip() or None
    if category is not None and len(category) > 64:
        raise InvalidInput("Chuyên mục quá dài — category is too long", field="category")
    return title, language, category


def check_file_name(filename: str | None) -> None:
    """Refuse a file name that is a path or carries control characters (nothing is read)."""
    why = hostile_name(filename)
    if why is not None:
        raise InvalidInput(f"Tên tệp không hợp lệ: chỉ được là tên tệp, không kèm đường dẫn "
                           f"hay ký tự điều khiển — the file name was refused: {why}",
                           field="file")


class Duplicate(Conflict):
    """The same audio is already a bulletin (refused only when the client asks to be told)."""

    code = "duplicate"

    def __init__(self, existing: Bulletin) -> None:
        super().__init__(f"Âm thanh này đã được tải lên trong bản tin «{existing.title}» — "
                         "the same audio is already a bulletin", field="file")
        self.existing = existing


def find_duplicate(*, session: Session, original_sha256: str, sha256: str | None = None,
                   other_than: int | None = None) -> Bulletin | None:
    """The bulletin already holding this audio (by the uploaded or processed file's sha256),
    one still in the lists first, else the newest."""
    same = Bulletin.original_sha256 == original_sha256
    if sha256 is not None:
        same = same | (Bulletin.sha256 == sha256)
    query = select(Bulletin).where(same)
    if other_than is not None:
        query = query.where(Bulletin.id != other_than)
    order = (Bulletin.archived_at.is_not(None), Bulletin.id.desc())
    return session.scalars(query.order_by(*order).limit(1)).first()


def create_from_upload(*, session: Session, store: MediaStore, upload: Path,
                       filename: str | None, title: str, language: str,
                       category: str | None, by: User, target_lufs: float,
                       true_peak: float, topic: str | None = None,
                       source: str | None = None, allow_duplicate: bool = True) -> Bulletin:
    """Process an uploaded file (which this call consumes) into a pending bulletin; with no
    topic given, its category's. Unless allowed, the same audio twice raises Duplicate."""
    try:
        title, language, category = check_metadata(title=title, language=language,
                                                   category=category)
        labels = catalogue.labels(session=session, topic=topic, source=source,
                                  category=category)
        if not allow_duplicate:
            existing = find_duplicate(session=session, original_sha256=_sha256(upload))
            if existing is not None:
                raise Duplicate(existing)
        processed, original_sha = ingest(upload, store=store, target_lufs=target_lufs,
                                         true_peak=true_peak)
    finally:
        upload.unlink(missing_ok=True)
    bulletin = Bulletin(
        title=title, language=language, category=category, topic=labels.topic,
        source=labels.source, status=BulletinStatus.PENDING.value, created_at=utcnow(),
        created_by_id=by.id)
    set_audio(bulletin, processed, original_sha256=original_sha, filename=filename)
    session.add(bulletin)
    session.flush()
    return bulletin


def ingest(upload: Path, *, store: MediaStore, target_lufs: float,
           true_peak: float) -> tuple[media.ProcessedAudio, str]:
    """Check and even out an upload's loudness; store the result and the original (which
    the upload becomes); return the result and the original's sha256."""
    processed = _process(upload, store=store, target_lufs=target_lufs, true_peak=true_peak)
    original_sha = _sha256(upload)
    os.replace(upload, store.original_path(original_sha))
    store.keep(sha256=processed.sha256, original_sha256=original_sha)
    return processed, original_sha


def set_audio(bulletin: Bulletin, processed: media.ProcessedAudio, *, original_sha256: str,
              filename: str | None) -> None:
    """Give a bulletin its processed audio and what was measured of it."""
    bulletin.duration_ms = processed.duration_ms
    bulletin.sha256 = processed.sha256
    bulletin.size_bytes = processed.size_bytes
    bulletin.loudness_lufs = round(processed.loudness_lufs, 2)
    bulletin.true_peak_dbtp = round(processed.true_peak_dbtp, 2)
    bulletin.source_loudness_lufs = round(processed.source_loudness_lufs, 2)
    bulletin.source_duration_ms = processed.source_duration_ms
    bulletin.source_format = processed.source_format
    bulletin.normalization_type = processed.normalization_type
    bulletin.original_sha256 = original_sha256
    bulletin.original_filename = display_name(filename)


def _process(upload: Path, *, store: MediaStore, target_lufs: float,
             true_peak: float) -> media.ProcessedAudio:
    try:
        return media.process_upload(upload, work_dir=store.dist, scratch_dir=store.incoming,
                                    target_lufs=target_lufs, true_peak_dbtp=true_peak)
    except media.NotAudio as exc:
        raise UnsupportedMedia(str(exc), field="file", code=exc.code) from exc
    except media.MediaError as exc:
        raise AudioRejected(str(exc), field="file", code=exc.code) from exc


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def get(*, session: Session, bulletin_id: int) -> Bulletin:
    """Return a bulletin or raise BulletinNotFound."""
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise BulletinNotFound(f"Không tìm thấy bản tin {bulletin_id} — bulletin not found",
                               field="bulletin_id")
    return bulletin


def get_approved(*, session: Session, bulletin_id: int, field: str = "bulletin_id") -> Bulletin:
    """Return a bulletin that may go on air, or say why it may not."""
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise BulletinNotFound(f"Không tìm thấy bản tin {bulletin_id} — bulletin not found",
                               field=field)
    if bulletin.archived_at is not None:
        raise Conflict(f"Bản tin «{bulletin.title}» đã được lưu trữ: không thể xếp lịch hay "
                       "phát — the bulletin is archived", field=field,
                       code="bulletin_archived")
    if bulletin.status != BulletinStatus.APPROVED:
        raise Conflict(f"Bản tin «{bulletin.title}» {bulletin_status_vi(bulletin.status)}, chưa "
                       f"được duyệt — bulletin '{bulletin.title}' is {bulletin.status}, only "
                       "approved bulletins can be scheduled", field=field,
                       code="bulletin_not_approved")
    return bulletin


class OwnUpload(Forbidden):
    """The two-person rule: the user who uploaded a bulletin may not approve it."""

    code = "two_person_rule"


def review(*, session: Session, bulletin_id: int, by: User, approve: bool,
           two_person_rule: bool, reason: str | None = None) -> Bulletin:
    """Approve or reject a pending bulletin (approve: never the uploader's own, by the rule)."""
    bulletin = get(session=session, bulletin_id=bulletin_id)
    if bulletin.archived_at is not None:
        raise Conflict(f"Bản tin «{bulletin.title}» đã được lưu trữ: không duyệt được nữa — "
                       "the bulletin is archived", field="status", code="bulletin_archived")
    if bulletin.status != BulletinStatus.PENDING:
        raise Conflict(f"Bản tin «{bulletin.title}» {bulletin_status_vi(bulletin.status)} — "
                       f"bulletin '{bulletin.title}' is already {bulletin.status}", field="status")
    if approve and two_person_rule and uploaded_by(bulletin, by):
        raise OwnUpload("Không được tự duyệt bản tin do chính mình tải lên: cần một người "
                        "duyệt khác — the two-person rule: a bulletin must be approved by "
                        "someone other than the user who uploaded it")
    bulletin.status = (BulletinStatus.APPROVED if approve else BulletinStatus.REJECTED).value
    bulletin.reviewed_at = utcnow()
    bulletin.reviewed_by_id = by.id
    bulletin.reject_reason = None if approve else reason
    return bulletin


def uploaded_by(bulletin: Bulletin, user: User) -> bool:
    """Tell whether this user uploaded the bulletin."""
    return bulletin.created_by_id is not None and bulletin.created_by_id == user.id


def listing(*, session: Session, limit: int, offset: int, status: str | None,
            language: str | None, category: str | None = None, topic: str | None = None,
            source: str | None = None, search: str | None = None,
            archived: bool | None = False) -> tuple[list[Bulletin], int]:
    """Return a page of bulletins, newest first, and the total: those in the lists, only the
    archived ones (archived=True), or all (None, as the playback log's filter wants)."""
    query = select(Bulletin)
    if archived is not None:
        query = query.where(Bulletin.archived_at.is_not(None) if archived
                            else Bulletin.archived_at.is_(None))
    for column, value in ((Bulletin.status, status), (Bulletin.language, language),
                          (Bulletin.category, category), (Bulletin.topic, topic),
                          (Bulletin.source, source)):
        if value:
            query = query.where(column == value)
    if search and search.strip():
        escaped = re.sub(r"([\\%_])", r"\\\1", search.strip())
        query = query.where(Bulletin.title.ilike(f"%{escaped}%", escape="\\"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Bulletin.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def facets(*, session: Session) -> tuple[list[str], list[str]]:
    """Return the languages and categories in use, for filter choices."""
    languages = session.scalars(select(Bulletin.language).distinct().order_by(Bulletin.language))
    categories = session.scalars(select(Bulletin.category).where(Bulletin.category.is_not(None))
                                 .distinct().order_by(Bulletin.category))
    return list(languages), [c for c in categories if c]


def update(*, session: Session, bulletin_id: int, change: BulletinUpdate) -> Bulletin:
    """Change a bulletin's title, category, topic, source or broadcast dates."""
    bulletin = get(session=session, bulletin_id=bulletin_id)
    given = change.model_fields_set
    if change.title is not None:
        bulletin.title = check_metadata(title=change.title, language=bulletin.language,
                                        category=None)[0]
    if "category" in given:
        _recategorise(session, bulletin, (change.category or "").strip() or None,
                      topic_given="topic" in given)
    if "topic" in given:
        topic = (change.topic or "").strip()
        bulletin.topic = (_label(session, Kind.TOPICS, bulletin.topic, topic) if topic
                          else catalogue.topic_of(session=session, category=bulletin.category))
    if "source" in given:
        source = (change.source or "").strip()
        bulletin.source = _label(session, Kind.SOURCES, bulletin.source, source) if source else None
    if "valid_from" in given:
        bulletin.valid_from = change.valid_from
    if "valid_until" in given:
        bulletin.valid_until = change.valid_until
    if bulletin.valid_from and bulletin.valid_until and bulletin.valid_until < bulletin.valid_from:
        raise InvalidInput("Ngày phát cuối trước ngày phát đầu — valid_until is before "
                           "valid_from", field="valid_until")
    return bulletin


def _recategorise(session: Session, bulletin: Bulletin, category: str | None, *,
                  topic_given: bool) -> None:
    """Change the category; the topic follows when it was the old category's own."""
    derived = catalogue.topic_of(session=session, category=bulletin.category)
    bulletin.category = category
    if not topic_given and bulletin.topic == derived:
        bulletin.topic = catalogue.topic_of(session=session, category=category)


def _label(session: Session, kind: Kind, current: str | None, code: str) -> str:
    """A topic or source code to keep (even one since deactivated) or to set (in use)."""
    return code if code == current else catalogue.check(session=session, kind=kind, code=code)
