"""Topics and sources: list, add, rename, (de)activate, delete unused; names by code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.bulletins.models import Bulletin
from scheduler.catalogue import seeds
from scheduler.catalogue.matching import fold, match_topic, slug
from scheduler.catalogue.models import CODE_LENGTH, CatalogueEntry, Source, Topic
from scheduler.catalogue.names import Names, built_in
from scheduler.catalogue.schemas import EntryCreate, EntryUpdate
from scheduler.errors import Conflict, InvalidInput, NotFound

CODE_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class Kind(StrEnum):
    """The two managed lists; the value is the table, the API path and the audit prefix."""

    TOPICS = "topics"
    SOURCES = "sources"

    @property
    def model(self) -> type[CatalogueEntry]:
        return Topic if self is Kind.TOPICS else Source

    @property
    def field(self) -> str:
        """The bulletin field that holds this list's codes."""
        return "topic" if self is Kind.TOPICS else "source"

    @property
    def words(self) -> tuple[str, str]:
        """What one entry is called, in Vietnamese and English."""
        return ("chủ đề", "topic") if self is Kind.TOPICS else ("nguồn tin", "source")


class EntryNotFound(NotFound):
    code = "catalogue_entry_not_found"


class UnknownCode(InvalidInput):
    """A bulletin given a topic or source code the list does not have (or no longer uses)."""


@dataclass(frozen=True)
class Labels:
    """What a bulletin is about and where it comes from (codes)."""

    topic: str
    source: str | None


def entries(*, session: Session, kind: Kind, active: bool | None = None, limit: int = 1000,
            offset: int = 0) -> tuple[list[CatalogueEntry], int]:
    """Return a page of a list in its order, and the total."""
    model = kind.model
    query = select(model)
    if active is not None:
        query = query.where(model.active.is_(active))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(model.position, model.name_vi, model.code)
                           .limit(limit).offset(offset))
    return list(rows), total


def get(*, session: Session, kind: Kind, code: str) -> CatalogueEntry:
    """Return one entry or raise EntryNotFound."""
    entry = session.get(kind.model, code)
    if entry is None:
        vi, en = kind.words
        raise EntryNotFound(f"Không tìm thấy {vi} '{code}' — {en} '{code}' not found",
                            field="code", code=f"{kind.field}_not_found")
    return entry


def create(*, session: Session, kind: Kind, data: EntryCreate,
           actor: audit.Actor) -> CatalogueEntry:
    """Add an entry; its code is made from its Vietnamese name unless given."""
    name_vi = _name(data.name_vi, field="name_vi")
    name_en = _name(data.name_en, field="name_en") if data.name_en else name_vi
    code = _code(data.code.strip() if data.code else slug(name_vi)[:CODE_LENGTH].strip("-"))
    _check_unique_name(session, kind, name_vi, entry_code=None)
    if session.get(kind.model, code) is not None:
        vi, en = kind.words
        raise Conflict(f"Mã {vi} '{code}' đã có — {en} code '{code}' is already used",
                       field="code", code="code_taken")
    position = data.position if data.position is not None else _next_position(session, kind)
    entry = kind.model(code=code, name_vi=name_vi, name_en=name_en, position=position,
                       active=True)
    session.add(entry)
    session.flush()
    audit.record(session=session, actor=actor, action=f"{kind.field}.create",
                 target_type=kind.field, target_id=code, name_vi=name_vi, name_en=name_en,
                 position=position)
    return entry


def update(*, session: Session, kind: Kind, code: str, change: EntryUpdate,
           actor: audit.Actor) -> CatalogueEntry:
    """Rename, move, deactivate or reactivate an entry (never "Khác": the fallback topic)."""
    entry = get(session=session, kind=kind, code=code)
    if change.name_vi is not None:
        entry.name_vi = _name(change.name_vi, field="name_vi")
        _check_unique_name(session, kind, entry.name_vi, entry_code=code)
    if change.name_en is not None:
        entry.name_en = _name(change.name_en, field="name_en")
    if change.position is not None:
        entry.position = change.position
    if change.active is not None:
        if not change.active:
            _keep_fallback(kind, code, "ngừng dùng", "deactivated")
        entry.active = change.active
    audit.record(session=session, actor=actor, action=f"{kind.field}.update",
                 target_type=kind.field, target_id=code,
                 **change.model_dump(exclude_unset=True))
    return entry


def delete(*, session: Session, kind: Kind, code: str, actor: audit.Actor) -> None:
    """Delete an entry no bulletin uses (one in use can only be deactivated)."""
    entry = get(session=session, kind=kind, code=code)
    _keep_fallback(kind, code, "xoá", "deleted")
    column = Bulletin.topic if kind is Kind.TOPICS else Bulletin.source
    used = session.scalar(select(func.count()).select_from(Bulletin).where(column == code)) or 0
    if used:
        vi, en = kind.words
        raise Conflict(f"{vi.capitalize()} '{entry.name_vi}' đang được {used} bản tin dùng: chỉ "
                       f"có thể ngừng dùng, không xoá được — {en} '{code}' is used by {used} "
                       f"bulletin(s): deactivate it instead", field="code", code="entry_in_use")
    session.delete(entry)
    audit.record(session=session, actor=actor, action=f"{kind.field}.delete",
                 target_type=kind.field, target_id=code, name_vi=entry.name_vi)


def labels(*, session: Session, topic: str | None, source: str | None,
           category: str | None) -> Labels:
    """The codes a new bulletin gets: the topic and source given (known and in use), else the
    topic its category names (UnknownCode for a code the lists lack)."""
    topic, source = (topic or "").strip() or None, (source or "").strip() or None
    return Labels(topic=(check(session=session, kind=Kind.TOPICS, code=topic) if topic
                         else topic_of(session=session, category=category)),
                  source=check(session=session, kind=Kind.SOURCES, code=source) if source
                  else None)


def check(*, session: Session, kind: Kind, code: str) -> str:
    """Return the code if the list has it in use, else raise UnknownCode naming it."""
    entry = session.get(kind.model, code)
    vi, en = kind.words
    if entry is None:
        raise UnknownCode(f"Không có {vi} '{code}' trong danh mục — unknown {en} '{code}' "
                          f"(GET /api/v1/{kind.value} lists them)", field=kind.field,
                          code=f"unknown_{kind.field}")
    if not entry.active:
        raise UnknownCode(f"{vi.capitalize()} '{entry.name_vi}' đã ngừng dùng — {en} '{code}' "
                          "is no longer in use", field=kind.field, code=f"inactive_{kind.field}")
    return code


def topic_of(*, session: Session, category: str | None) -> str:
    """The topic in use that a free-text category names, else "Khác" (seeds.OTHER_TOPIC)."""
    if not (category or "").strip():
        return seeds.OTHER_TOPIC
    rows = session.execute(select(Topic.code, Topic.name_vi, Topic.name_en)
                           .where(Topic.active.is_(True)))
    return match_topic(category, {code: (vi, en) for code, vi, en in rows})


def names(*, session: Session, lang: str) -> Names:
    """Language, topic and source names in a reader's language (deactivated entries too: old
    bulletins keep theirs)."""
    english = lang != "vi"
    found = {kind: {entry.code: entry.name_en if english else entry.name_vi
                    for entry in session.scalars(select(kind.model))} for kind in Kind}
    return Names(lang=lang, languages=built_in(lang).languages, topics=found[Kind.TOPICS],
                 sources=found[Kind.SOURCES])


def _name(raw: str, *, field: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput("Tên không được để trống — the name must not be blank", field=field)
    return name


def _code(code: str) -> str:
    if not CODE_RE.match(code) or len(code) > CODE_LENGTH:
        raise InvalidInput(f"Mã '{code}' không hợp lệ: chỉ chữ thường không dấu, chữ số và dấu "
                           f"gạch nối (ví dụ: moi-truong) — code '{code}' must be lower-case "
                           "letters and digits joined by '-'", field="code")
    return code


def _check_unique_name(session: Session, kind: Kind, name: str, *,
                       entry_code: str | None) -> None:
    """Two entries of a list may not read alike (case and diacritics aside)."""
    model = kind.model
    for other_code, other in session.execute(select(model.code, model.name_vi)):
        if other_code != entry_code and fold(other) == fold(name):
            vi, en = kind.words
            raise Conflict(f"Đã có {vi} '{other}' — a {en} named '{other}' already exists",
                           field="name_vi", code="name_taken")


def _keep_fallback(kind: Kind, code: str, verb_vi: str, verb_en: str) -> None:
    if kind is Kind.TOPICS and code == seeds.OTHER_TOPIC:
        raise Conflict(f"Không thể {verb_vi} chủ đề 'Khác': bản tin không thuộc chủ đề nào "
                       f"được xếp vào đó — the topic 'Other' cannot be {verb_en}: bulletins "
                       "of no other topic go there", field="code", code="fallback_topic")


def _next_position(session: Session, kind: Kind) -> int:
    """After the others ("Khác" stays last)."""
    model = kind.model
    last = session.scalar(select(func.max(model.position))
                          .where(model.position < seeds.OTHER_POSITION))
    return (last or 0) + 1
