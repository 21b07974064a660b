"""Bulletin pages: the list with search and filters, upload with progress, listen and review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.bulletins import service
from scheduler.bulletins.models import BulletinStatus
from scheduler.catalogue import seeds
from scheduler.catalogue import service as catalogue
from scheduler.catalogue.names import Names, built_in
from scheduler.catalogue.service import Kind
from scheduler.deps import RuntimeDep, SessionDep, actor
from scheduler.errors import DomainError, InvalidInput
from scheduler.ids import IdPath, Offset
from scheduler.planning import removal
from scheduler.users import service as users
from scheduler.web.i18n import N_
from scheduler.web.paging import Pager
from scheduler.web.session import ApproverPage, EditorPage, PageUser
from scheduler.web.templating import flash, language, redirect, render

router = APIRouter()
PAGE_SIZE = 20
ARCHIVED = "archived"  # the list's status filter: the archived bulletins (of any status)
Text = Annotated[str | None, Query(max_length=200)]


def _names(request: Request, session: Session) -> Names:
    return catalogue.names(session=session, lang=language(request))


def _choices(session: Session, names: Names, kind: Kind, *,
             active: bool | None) -> list[tuple[str, str]]:
    """A list's (code, name) pairs in its order, for a <select>."""
    rows, _total = catalogue.entries(session=session, kind=kind, active=active)
    name = names.topic if kind is Kind.TOPICS else names.source
    return [(entry.code, name(entry.code)) for entry in rows]


def _in_order(languages: list[str]) -> list[str]:
    """The known languages in their order (Tiếng Việt first), then any others."""
    known = list(seeds.LANGUAGES)
    return sorted(languages, key=lambda code: (known.index(code) if code in known
                                               else len(known), code))


@router.get("/bulletins", response_class=HTMLResponse)
def listing(request: Request, session: SessionDep, _user: PageUser, q: Text = None,
            language: Text = None, topic: Text = None, source: Text = None,
            category: Text = None, status: Text = None, offset: Offset = 0,
            limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE) -> HTMLResponse:
    """Bulletins, newest first, with search and filters (languages, topics, sources by name)."""
    archived = status == ARCHIVED
    status = status if status in set(BulletinStatus) or archived else None
    rows, total = service.listing(session=session, limit=limit, offset=offset,
                                  status=None if archived else status, language=language or None,
                                  topic=topic or None, source=source or None,
                                  category=category or None, search=q, archived=archived)
    languages, categories = service.facets(session=session)
    names = _names(request, session)
    filters = {"q": q or "", "language": language or "", "topic": topic or "",
               "source": source or "", "category": category or "", "status": status or "",
               "limit": str(limit) if limit != PAGE_SIZE else ""}
    return render(request, "bulletins/list.html", rows=rows, filters=filters,
                  pager=Pager("/bulletins", filters, total, offset, limit), names=names,
                  languages=[(code, names.language(code)) for code in _in_order(languages)],
                  topics=_choices(session, names, Kind.TOPICS, active=None),
                  sources=_choices(session, names, Kind.SOURCES, active=None),
                  categories=categories, statuses=[*BulletinStatus, ARCHIVED])


@router.get("/bulletins/upload", response_class=HTMLResponse)
def upload_page(request: Request, session: SessionDep, _user: EditorPage) -> HTMLResponse:
    """The upload form: languages (typed and suggested), topics and sources by name (the API
    stores the codes); the browser sends the file to the API and shows the progress."""
    _languages, categories = service.facets(session=session)
    names = _names(request, session)
    other = built_in("en" if names.lang == "vi" else "vi")
    return render(request, "bulletins/upload.html", categories=categories,
                  default_language=names.language("vi"),
                  languages=[(names.language(code), other.language(code))
                             for code in seeds.LANGUAGES],
                  topics=_choices(session, names, Kind.TOPICS, active=True),
                  sources=_choices(session, names, Kind.SOURCES, active=True))


@router.get("/bulletins/{bulletin_id}", response_class=HTMLResponse)
def detail(bulletin_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
           user: PageUser) -> HTMLResponse:
    """One bulletin: listen to it, its loudness and duration, and review it."""
    bulletin = service.get(session=session, bulletin_id=bulletin_id)
    people = {uid: _username(session, uid) for uid in (
        bulletin.created_by_id, bulletin.reviewed_by_id, bulletin.archived_by_id)
        if uid is not None}
    own_upload = runtime.settings.two_person_rule and service.uploaded_by(bulletin, user)
    return render(request, "bulletins/detail.html", b=bulletin, people=people,
                  names=_names(request, session), own_upload=own_upload)


def _username(session: Session, user_id: int) -> str | None:
    try:
        return users.get(session=session, user_id=user_id).username
    except LookupError:  # archived_by_id keeps a removed user's id, as the audit log does
        return None


@router.post("/bulletins/{bulletin_id}/approve")
def approve(bulletin_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
            user: ApproverPage) -> Response:
    """Approve a pending bulletin so it can be scheduled (not one you uploaded yourself)."""
    bulletin = service.review(session=session, bulletin_id=bulletin_id, by=user, approve=True,
                              two_person_rule=runtime.settings.two_person_rule)
    audit.record(session=session, actor=actor(request, user), action="bulletin.approve",
                 target_type="bulletin", target_id=bulletin.id, sha256=bulletin.sha256)
    answer = redirect(f"/bulletins/{bulletin.id}")
    flash(answer, N_("Bulletin approved: it can now be scheduled."))
    return answer


@router.post("/bulletins/{bulletin_id}/reject")
def reject(bulletin_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
           user: ApproverPage,
           reason: Annotated[str, Form(min_length=1, max_length=500)]) -> Response:
    """Reject a pending bulletin with a reason."""
    if not reason.strip():
        raise InvalidInput("Cần ghi lý do từ chối — a reason is required", field="reason")
    bulletin = service.review(session=session, bulletin_id=bulletin_id, by=user, approve=False,
                              two_person_rule=runtime.settings.two_person_rule,
                              reason=reason.strip())
    audit.record(session=session, actor=actor(request, user), action="bulletin.reject",
                 target_type="bulletin", target_id=bulletin.id, reason=reason.strip())
    answer = redirect(f"/bulletins/{bulletin.id}")
    flash(answer, N_("Bulletin rejected."), kind="warn")
    return answer


@router.post("/bulletins/{bulletin_id}/delete")
def delete(bulletin_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
           user: EditorPage) -> Response:
    """Delete a pending or rejected bulletin; archive one that was approved or is named by a
    timetable, broadcast or playback; say which happened."""
    title = service.get(session=session, bulletin_id=bulletin_id).title
    try:
        outcome = removal.remove(session=session, store=runtime.store, bulletin_id=bulletin_id,
                                 by=user)
    except DomainError as exc:
        answer = redirect(f"/bulletins/{bulletin_id}")
        flash(answer, REFUSED.get(exc.code, N_("The bulletin was neither deleted nor archived.")),
              kind="error", title=title)
        return answer
    deleted = outcome is removal.Outcome.DELETED
    audit.record(session=session, actor=actor(request, user),
                 action="bulletin.delete" if deleted else "bulletin.archive",
                 target_type="bulletin", target_id=bulletin_id, title=title)
    if deleted:
        answer = redirect("/bulletins")
        flash(answer, N_("Bulletin “%(title)s” deleted."), title=title)
        return answer
    answer = redirect(f"/bulletins/{bulletin_id}")
    flash(answer, N_("Bulletin “%(title)s” was archived, not deleted: it has been approved, "
                     "scheduled or played, so it stays for the playback log (hidden from the "
                     "list)."), kind="warn", title=title)
    return answer


REFUSED = {
    "bulletin_scheduled": N_("Bulletin “%(title)s” still has playbacks to come: delete "
                             "its timetables first."),
    "bulletin_archived": N_("Bulletin “%(title)s” is already archived."),
}
