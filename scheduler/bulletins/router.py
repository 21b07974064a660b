"""Bulletin routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse

from scheduler.audit import service as audit
from scheduler.bulletins import service, serving, upload
from scheduler.bulletins.schemas import BulletinList, BulletinRead, BulletinUpdate, RejectBody
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
from scheduler.planning import replanning

router = APIRouter(prefix="/bulletins", tags=["bulletins"])
TOPIC = "a code of GET /topics; without one, the topic the category names (else 'khac')"
Filter = Annotated[str | None, Query(max_length=64)]


@router.post("", status_code=201)
def create(request: Request, session: SessionDep, runtime: RuntimeDep, user: EditorDep,
           file: Annotated[UploadFile, File()], title: Annotated[str, Form(max_length=200)],
           language: Annotated[str, Form(max_length=35)],
           category: Annotated[str | None, Form(max_length=64)] = None,
           topic: Annotated[str | None, Form(max_length=CODE_LENGTH, description=TOPIC)] = None,
           source: Annotated[str | None, Form(max_length=CODE_LENGTH,
                                              description="a code of GET /sources")] = None
           ) -> BulletinRead:
    """Upload audio; it is validated, loudness-normalised and stored as a pending bulletin."""
    limit = runtime.settings.max_upload_bytes
    service.check_metadata(title=title, language=language, category=category)
    catalogue.labels(session=session, topic=topic, source=source, category=category)
    service.check_file_name(file.filename)
    scratch = upload.receive(file.file, folder=runtime.store.incoming, limit=limit)
    bulletin = service.create_from_upload(
        session=session, store=runtime.store, upload=scratch, filename=file.filename,
        title=title, language=language, category=category, topic=topic, source=source,
        by=user, target_lufs=runtime.settings.loudness_target,
        true_peak=runtime.settings.true_peak)
    audit.record(session=session, actor=actor(request, user), action="bulletin.upload",
                 target_type="bulletin", target_id=bulletin.id, title=bulletin.title,
                 sha256=bulletin.sha256, original_sha256=bulletin.original_sha256,
                 filename=bulletin.original_filename, topic=bulletin.topic,
                 source=bulletin.source)
    return BulletinRead.model_validate(bulletin)


@router.get("")
def listing(session: SessionDep, _user: UserDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
            offset: Offset = 0, status: Filter = None, language: Filter = None,
            topic: Filter = None, source: Filter = None) -> BulletinList:
    """List bulletins, newest first (by status, language, topic or source code)."""
    rows, total = service.listing(session=session, limit=limit, offset=offset, status=status,
                                  language=language, topic=topic, source=source)
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
