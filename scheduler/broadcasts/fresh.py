"""An approver's emergency from audio recorded or uploaded on the spot.

The recording becomes a bulletin like any upload (loudness processed the same way), pending
until it is sent. Sending it approves it by the sender's own role: the two-person rule does
not hold up an emergency, but the audit log names who recorded, approved and sent it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from scheduler.audit import service as audit
from scheduler.audit.service import Actor
from scheduler.bulletins import service as bulletins
from scheduler.bulletins.models import Bulletin
from scheduler.bulletins.storage import MediaStore
from scheduler.errors import Forbidden
from scheduler.users.models import User

RECORDED = "emergency.record"  # the audit action of a fresh recording
SENT = "emergency.fresh"  # the audit action naming who recorded, approved and sent it
LANGUAGE = "vi"


class NotOwnRecording(Forbidden):
    """Only the approver's own fresh recording is approved by sending it."""

    code = "not_own_emergency_recording"


def title(now: datetime, zone: str) -> str:
    """The title of a fresh recording: when it was made, in the city's local time."""
    return f"Khẩn cấp {now.astimezone(ZoneInfo(zone)):%d/%m/%Y %H:%M}"


def record(*, session: Session, store: MediaStore, upload: Path, filename: str | None,
           by: User, actor: Actor, now: datetime, zone: str, target_lufs: float,
           true_peak: float) -> Bulletin:
    """Make a pending bulletin of a fresh recording (the upload is consumed) and audit it."""
    bulletins.check_file_name(filename)
    bulletin = bulletins.create_from_upload(
        session=session, store=store, upload=upload, filename=filename,
        title=title(now, zone), language=LANGUAGE, category=None, by=by,
        target_lufs=target_lufs, true_peak=true_peak)
    audit.record(session=session, actor=actor, action=RECORDED, target_type="bulletin",
                 target_id=bulletin.id, title=bulletin.title, sha256=bulletin.sha256,
                 original_sha256=bulletin.original_sha256,
                 filename=bulletin.original_filename,
                 source_loudness_lufs=bulletin.source_loudness_lufs,
                 loudness_lufs=bulletin.loudness_lufs)
    return bulletin


def recorded_by(*, session: Session, bulletin_id: int, user: User) -> bool:
    """Tell whether this user made the bulletin, with the audio it has now, as a fresh
    emergency recording (audio replaced since by someone else is not theirs to approve)."""
    rows, _ = audit.listing(session=session, limit=1, offset=0, action=RECORDED,
                            target_type="bulletin", target_id=str(bulletin_id))
    bulletin = session.get(Bulletin, bulletin_id)
    return (bool(rows) and rows[0].user_id == user.id and bulletin is not None
            and json.loads(rows[0].detail).get("sha256") == bulletin.sha256)


def approve(*, session: Session, bulletin_id: int, by: User, actor: Actor) -> Bulletin:
    """Approve the sender's own fresh recording by their role, and audit it as such."""
    if not recorded_by(session=session, bulletin_id=bulletin_id, user=by):
        raise NotOwnRecording("Chỉ bản ghi khẩn cấp do chính bạn vừa ghi hoặc tải lên mới được "
                              "duyệt khi phát — only your own fresh emergency recording is "
                              "approved by sending it", field="bulletin_id")
    bulletin = bulletins.review(session=session, bulletin_id=bulletin_id, by=by, approve=True,
                                two_person_rule=False)
    audit.record(session=session, actor=actor, action="bulletin.approve",
                 target_type="bulletin", target_id=bulletin.id, sha256=bulletin.sha256,
                 implicit="emergency")
    return bulletin


def audit_sent(*, session: Session, actor: Actor, bulletin: Bulletin, broadcast_id: int,
               recorder: str, stations: int) -> None:
    """One entry naming who recorded, approved and sent a fresh emergency."""
    audit.record(session=session, actor=actor, action=SENT, target_type="broadcast",
                 target_id=broadcast_id, bulletin_id=bulletin.id, title=bulletin.title,
                 recorded_by=recorder, approved_by=actor.username, sent_by=actor.username,
                 two_person_rule="waived: the approver's own emergency", stations=stations)
