"""Bulletin routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from scheduler.audit import service as audit
from scheduler.bulletins import languages, lifecycle, service, serving, upload
from scheduler.bulletins.schemas import (
    BulletinList,
    BulletinRead,
    BulletinRef,
    BulletinRemoved,
    BulletinUpdate,
    RejectBody,
)
from scheduler.catalogue import service as catalogue
from scheduler.catalogue.models import CODE_LENGTH
from scheduler.deps import (
    ApproverDep,
    EditorDep,
    EditorOrApproverDep,
    RuntimeDep,
    SessionDep,
    UserDep,
    actor,
)
from scheduler.ids import IdPath, Offset
from scheduler.planning import removal, replanning

router = APIRouter(prefix="/bulletins", tags=["bulletins"])
TOPIC = "a code of GET /topics; without one, the topic the category names (else 'khac')"
Filter = Annotated[str | None, Query(max_length=64)]


LANGUAGE = "a BCP 47 / ISO 639-3 code; or leave it out and give language_name"
LANGUAGE_NAME = "the language by its Vietnamese or English name ('Ê Đê', 'Ede'), when no code"
ALLOW_DUPLICATE = ("false: answer 409 `duplicate` (with `duplicate_of`) when the same audio "
                   "is already a bulletin; true (the default): upload it again, and the answer "
                   "names the earlier one in `duplicate_of`")


@router.post("", status_code=201, response_model=BulletinRead,
             responses={409: {"description": "Duplicate audio (only when allow_duplicate is "
                                             "false): detail, code, duplicate_of {id, title}"}})
def create(request: Request, session: SessionDep, runtime: RuntimeDep, user: EditorDep,
           file: Annotated[UploadFile, File()], title: Annotated[str, Form(max_length=200)],
           language: Annotated[str | None, Form(max_length=35, description=LANGUAGE)] = None,
           language_name: Annotated[str | None, Form(max_length=100,
                                                     description=LANGUAGE_NAME)] = None,
           category: Annotated[str | None, Form(max_length=64)] = None,
           topic: Annotated[str | None, Form(max_length=CODE_LENGTH, description=TOPIC)] = None,
           source: Annotated[str | None, Form(max_length=CODE_LENGTH,
                                              description="a code of GET /sources")] = None,
           allow_duplicate: Annotated[bool, Form(description=ALLOW_DUPLICATE)] = True
           ) -> Response | BulletinRead:
    """Upload audio; it is validated, loudness-normalised and stored as a pending bulletin."""
    limit = runtime.settings.max_upload_bytes
    language = language or languages.resolve(language_name or "")
    service.check_metadata(title=title, language=language, category=category)
    catalogue.labels(session=session, topic=topic, source=source, category=category)
    service.check_file_name(file.filename)
    scratch = upload.receive(file.file, folder=runtime.store.incoming, limit=limit)
    try:
        bulletin = service.create_from_upload(
            session=session, store=runtime.store, upload=scratch, filename=file.filename,
            title=title, language=language, category=category, topic=topic, source=source,
            by=user, target_lufs=runtime.settings.loudness_target,
            true_peak=runtime.settings.true_peak, allow_duplicate=allow_duplicate)
    except service.Duplicate as exc:
        return JSONResponse(status_code=409, content={
            "detail": str(exc), "code": exc.code, "field": exc.field,
            "duplicate_of": BulletinRef.model_validate(exc.existing).model_dump()})
    audit.record(session=session, actor=actor(request, user), action="bulletin.upload",
                 target_type="bulletin", target_id=bulletin.id, title=bulletin.title,
                 sha256=bulletin.sha256, original_sha256=bulletin.original_sha256,
                 filename=bulletin.original_filename, topic=bulletin.topic,
                 source=bulletin.source)
    earlier = service.find_duplicate(session=session, original_sha256=bulletin.original_sha256,
                                     sha256=bulletin.sha256, other_than=bulletin.id)
    answer = BulletinRead.model_validate(bulletin)
    answer.duplicate_of = BulletinRef.model_validate(earlier) if earlier else None
    return answer


@router.get("")
def listing(session: SessionDep, _user: UserDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
            offset: Offset = 0, status: Filter = None, language: Filter = None,
            topic: Filter = None, source: Filter = None,
            archived: Annotated[bool, Query(description="true: only the archived")] = False
            ) -> BulletinList:
    """List bulletins, newest first (by status, language, topic or source code); archived ones
    only when asked for."""
    rows, total = service.listing(session=session, limit=limit, offset=offset, status=status,
                                  language=language, topic=topic, source=source,
                                  archived=archived)
    return BulletinList(items=[BulletinRead.model_validate(b) for b in rows], total=total)


@router.get("/{bulletin_id}")
def read(bulletin_id: IdPath, session: SessionDep, _user: UserDep) -> BulletinRead:
    """One bulletin."""
    return BulletinRead.model_validate(service.get(session=session, bulletin_id=bulletin_id))


AUDIO: dict[int | str, dict[str, Any]] = {
    200: {"content": {"audio/ogg": {}}, "description": "Ogg Opus audio"}}


@router.get("/{bulletin_id}/audio", response_class=FileResponse, responses=AUDIO)
def audio(bulletin_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
          _user: UserDep) -> Response:
    """The normalised distribution audio (Ogg Opus), with Range and ETag."""
    bulletin = service.get(session=session, bulletin_id=bulletin_id)
    return serving.distribution(store=runtime.store, sha256=bulletin.sha256, request=request)


@router.patch("/{bulletin_id}")
def update(bulletin_id: IdPath, body: BulletinUpdate, request: Request, session: SessionDep,
           runtime: RuntimeDep, user: EditorOrApproverDep) -> BulletinRead:
    """Change title, category, topic, source or broadcast dates; slots outside the dates end
    `skipped`."""
    bulletin = replanning.update_bulletin(session=session, bulletin_id=bulletin_id, change=body,
                                          horizon=runtime.horizon)
    audit.record(session=session, actor=actor(request, user), action="bulletin.update",
                 target_type="bulletin", target_id=bulletin.id,
                 **body.model_dump(exclude_unset=True))
    return BulletinRead.model_validate(bulletin)


@router.post("/{bulletin_id}/approve")
def approve(bulletin_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
            user: ApproverDep) -> BulletinRead:
    """Approve a pending bulletin so it can be scheduled (not one you uploaded yourself)."""
    bulletin = service.review(session=session, bulletin_id=bulletin_id, by=user, approve=True,
                              two_person_rule=runtime.settings.two_person_rule)
    audit.record(session=session, actor=actor(request, user), action="bulletin.approve",
                 target_type="bulletin", target_id=bulletin.id, sha256=bulletin.sha256)
    return BulletinRead.model_validate(bulletin)


@router.post("/{bulletin_id}/reject")
def reject(bulletin_id: IdPath, body: RejectBody, request: Request, session: SessionDep,
           runtime: RuntimeDep, user: ApproverDep) -> BulletinRead:
    """Reject a pending bulletin with a reason."""
    bulletin = service.review(session=session, bulletin_id=bulletin_id, by=user, approve=False,
                              two_person_rule=runtime.settings.two_person_rule,
                              reason=body.reason)
    audit.record(session=session, actor=actor(request, user), action="bulletin.reject",
                 target_type="bulletin", target_id=bulletin.id, reason=body.reason)
    return BulletinRead.model_validate(bulletin)


@router.delete("/{bulletin_id}")
def delete(bulletin_id: IdPath, request: Request, session: SessionDep, runtime: RuntimeDep,
           user: EditorDep) -> BulletinRemoved:
    """Delete a pending or rejected bulletin; one approved, or named by a timetable, programme,
    broadcast or playback, is archived instead (out of the lists, kept for the log)."""
    title = service.get(session=session, bulletin_id=bulletin_id).title
    outcome = removal.remove(session=session, store=runtime.store, bulletin_id=bulletin_id,
                             by=user)
    action = "bulletin.delete" if outcome is removal.Outcome.DELETED else "bulletin.archive"
    audit.record(session=session, actor=actor(request, user), action=action,
                 target_type="bulletin", target_id=bulletin_id, title=title)
    return BulletinRemoved(id=bulletin_id, title=title, outcome=outcome.value)


@router.post("/{bulletin_id}/audio")
def replace_audio(bulletin_id: IdPath, request: Request, session: SessionDep,
                  runtime: RuntimeDep, user: EditorDep,
                  file: Annotated[UploadFile, File()]) -> BulletinRead:
    """Replace the audio of a pending bulletin (processed as an upload is); an approved one's
    audio never changes (409)."""
    service.check_file_name(file.filename)
    service.get(session=session, bulletin_id=bulletin_id)
    scratch = upload.receive(file.file, folder=runtime.store.incoming,
                             limit=runtime.settings.max_upload_bytes)
    bulletin = lifecycle.replace_audio(
        session=session, store=runtime.store, bulletin_id=bulletin_id, upload=scratch,
        filename=file.filename, by=user, target_lufs=runtime.settings.loudness_target,
        true_peak=runtime.settings.true_peak)
    audit.record(session=session, actor=actor(request, user), action="bulletin.replace_audio",
                 target_type="bulletin", target_id=bulletin.id, sha256=bulletin.sha256,
                 original_sha256=bulletin.original_sha256, filename=bulletin.original_filename)
    return BulletinRead.model_validate(bulletin)
