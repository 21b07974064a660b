"""Live sessions in a running scheduler: the rows (service.py) with their transcoder
(ingest.py), the stations' commands and plans, and the recording kept after the stop.

Used by the routes, by a session's own timers (it stops itself) and by the app's start-up
and shut-down (sessions a dead process left open are stopped; those of this process are
stopped when it shuts down).
"""

from __future__ import annotations

import logging
import threading
import wave
from functools import partial
from pathlib import Path

from sqlalchemy.orm import Session

from scheduler.audit.service import Actor
from scheduler.broadcasts import service as broadcasts
from scheduler.broadcasts import stopping
from scheduler.context import AppContext
from scheduler.errors import Unavailable
from scheduler.live import service
from scheduler.live.ingest import (
    CHANNELS,
    FIRST_SOURCE_S,
    SAMPLE_BYTES,
    SAMPLE_RATE,
    Timers,
    Transcoder,
)
from scheduler.live.models import LiveSession, RecordingState, StopReason
from scheduler.live.schemas import LiveCreate, LiveRead
from scheduler.unitofwork import after_commit, unit_of_work
from scheduler.users.models import User
from wardcast.private import private_dir
from wardcast.protocol import utcnow

log = logging.getLogger(__name__)

SYSTEM = Actor(user_id=None, username="(live session)")
KEY_ACTOR = "(ingest key)"
WAV_HEADER = 44  # what Python's wave module writes before PCM


class LiveUnavailable(Unavailable):
    code = "live_unavailable"


def recordings(runtime: AppContext) -> Path:
    """Where sessions' recordings are written while they are live."""
    return runtime.settings.data_dir / "live"


def start(*, runtime: AppContext, session: Session, data: LiveCreate, by: User,
          actor: Actor) -> service.Started:
    """Start a session: its rows committed, its transcoder running (the mount exists, fed
    silence, before any station is told of it); the plans go out as the request ends."""
    live_server = runtime.live
    if live_server is None:
        raise LiveUnavailable("Chưa phát trực tiếp được: máy chủ phát luồng (Icecast) chưa chạy "
                              "hoặc đã bị tắt. Báo quản trị viên kiểm tra cài đặt icecast2 — "
                              "live is unavailable: the streaming server (Icecast) is not "
                              "running or is turned off")
    settings = runtime.settings
    started = service.start(session=session, data=data, by=by, actor=actor,
                            listen_url=live_server.listen_url, max_s=settings.live_max_s,
                            zone=settings.timezone, replica=settings.replica_id)
    broadcasts.send(session=session, created=started.created, publish=None)  # plans only
    session.commit()  # the row before its transcoder: its timers may stop it at once
    live = started.live
    private_dir(recordings(runtime))
    transcoder = Transcoder(
        session_id=live.id, source_url=live_server.source_url(live.mount),
        recording=recording_path(runtime, live.mount),
        timers=Timers(drop_s=settings.live_drop_s, first_s=FIRST_SOURCE_S,
                      max_s=settings.live_max_s),
        on_stop=partial(stop_by_itself, runtime, live.id))
    try:
        runtime.ingests.open(transcoder)
    except OSError as exc:  # ffmpeg missing or not startable
        log.error("live %d: the transcoder could not start: %s", live.id, exc)
        stop_by_itself(runtime, live.id, StopReason.NO_SOURCE)
        raise LiveUnavailable("Không khởi động được bộ mã hoá âm thanh (ffmpeg) — the live "
                              "transcoder (ffmpeg) could not start") from exc
    log.info("live %d started on %s for %d station(s)", live.id, live.mount,
             len(started.created.station_ids))
    return started


def stop(*, runtime: AppContext, session: Session, live_id: int, by: User | None,
         actor: Actor, reason: StopReason, background: bool = True) -> LiveSession:
    """Stop a session (again: nothing more happens): once committed, its stations are told
    to stop, then its transcoder ends and what was said becomes a pending bulletin (on a
    thread of its own unless background is false: the answer does not wait for the audio
    to be processed)."""
    stopped = service.stop(session=session, live_id=live_id, by=by, actor=actor,
                           reason=reason, now=utcnow())
    if stopped is not None:
        dispatcher = runtime.dispatcher
        stopping.send(session=session, stopped=stopped,
                      send_command=dispatcher.send_command if dispatcher is not None else None)
    live = service.get(session=session, live_id=live_id)
    if live.stopped_at is not None and runtime.ingests.get(live_id) is not None:
        after_commit(session, partial(_wind_up, runtime, live_id, background=background))
    return live


def stop_by_itself(runtime: AppContext, live_id: int, reason: StopReason) -> None:
    """A session's timer: stop it in a transaction of its own."""
    with unit_of_work(runtime.db, runtime.push_plans) as session:
        stop(runtime=runtime, session=session, live_id=live_id, by=None, actor=SYSTEM,
             reason=reason)


def _wind_up(runtime: AppContext, live_id: int, *, background: bool) -> None:
    """Close the transcoder, then keep the recording (on a thread of its own)."""
    recording = runtime.ingests.close(live_id)
    if not background:
        keep_recording(runtime, live_id, recording)
        return
    threading.Thread(target=keep_recording, args=(runtime, live_id, recording),
                     name=f"live-{live_id}-keep", daemon=True).start()


def keep_recording(runtime: AppContext, live_id: int, recording: Path | None) -> None:
    """Make a stopped session's recording a pending bulletin (or say why not)."""
    settings = runtime.settings
    try:
        with unit_of_work(runtime.db, runtime.push_plans) as session:
            live = service.keep_recording(
                session=session, live_id=live_id, recording=recording, store=runtime.store,
                zone=settings.timezone, target_lufs=settings.loudness_target,
                true_peak=settings.true_peak)
            log.info("live %d: recording %s%s", live_id, live.recording_state,
                     f" (bulletin {live.recording_bulletin_id})"
                     if live.recording_bulletin_id else "")
    except Exception:  # a thread of its own: say it, and say it on the session
        log.exception("live %d: the recording could not be kept", live_id)
        with unit_of_work(runtime.db, runtime.push_plans) as session:
            live = service.get(session=session, live_id=live_id)
            live.recording_state = RecordingState.FAILED.value
            live.recording_error = "internal error"


def recover(runtime: AppContext) -> None:
    """At start-up: stop the sessions this replica left open when its process died (their
    transcoder died with it) and keep what they recorded."""
    with runtime.db.session() as session:
        left = [live.id for live in service.open_sessions(
            session=session, replica=runtime.settings.replica_id)]
    for live_id in left:
        log.warning("live %d was left open by a scheduler that stopped: stopping it", live_id)
        with unit_of_work(runtime.db, runtime.push_plans) as session:
            live = stop(runtime=runtime, session=session, live_id=live_id, by=None,
                        actor=SYSTEM, reason=StopReason.SCHEDULER_RESTARTED)
            mount = live.mount
        keep_recording(runtime, live_id, _repaired(recording_path(runtime, mount)))


def shut_down(runtime: AppContext) -> None:
    """At shut-down: stop this process's sessions, their stations told, recordings kept."""
    for live_id in runtime.ingests.running():
        with unit_of_work(runtime.db, runtime.push_plans) as session:
            stop(runtime=runtime, session=session, live_id=live_id, by=None, actor=SYSTEM,
                 reason=StopReason.SCHEDULER_STOPPED, background=False)


def recording_path(runtime: AppContext, mount: str) -> Path:
    """The WAV a session's transcoder records into."""
    return recordings(runtime) / f"{mount.removesuffix('.ogg')}.wav"


def _repaired(path: Path) -> Path | None:
    """A recording its process died writing, with its header written again (the sizes in it
    were never filled in); None when there is no audio in it."""
    if not path.is_file():
        return None
    pcm = path.read_bytes()[WAV_HEADER:]
    pcm = pcm[: len(pcm) - len(pcm) % SAMPLE_BYTES]
    if not pcm:
        path.unlink()
        return None
    with wave.open(str(path), "wb") as fixed:
        fixed.setnchannels(CHANNELS)
        fixed.setsampwidth(SAMPLE_BYTES)
        fixed.setframerate(SAMPLE_RATE)
        fixed.writeframes(pcm)
    return path


def read(session: Session, runtime: AppContext, live: LiveSession) -> LiveRead:
    """A session as the API shows it."""
    transcoder = runtime.ingests.get(live.id)
    return LiveRead(
        id=live.id, state="live" if live.live else "stopped", mount=live.mount,
        priority=live.priority, stream_id=live.stream_id, broadcast_id=live.broadcast_id,
        station_ids=service.station_ids(session, live), started_at=live.started_at,
        created_by_id=live.created_by_id, stopped_at=live.stopped_at,
        stop_reason=live.stop_reason, stopped_by_id=live.stopped_by_id,
        source_connected=transcoder is not None and transcoder.connected,
        said_s=round(transcoder.said_s, 2) if transcoder is not None else None,
        recording_state=live.recording_state,
        recording_bulletin_id=live.recording_bulletin_id,
        recording_error=live.recording_error)
