"""Watch the streams: probe each one, a few at a time, and keep what changed.

Run by the leader's periodic job (scheduler/jobs.py) on the job pool, never on the event loop.
Each stream is probed without a database session open and its result written in a short one of
its own; a stream changed or deleted while it was being probed keeps its new self.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from scheduler.db import Database
from scheduler.streams import service
from scheduler.streams.models import Stream, StreamState
from scheduler.streams.probe import Finding
from scheduler.streams.urls import Source
from wardcast.protocol import utcnow

log = logging.getLogger(__name__)

WORKERS = 3  # each probe is two ffmpeg processes for a few seconds: a few at once, not all


def check_all(*, db: Database, prober: service.Prober, workers: int = WORKERS) -> int:
    """Probe every stream; return how many changed state."""
    targets = _targets(db)
    changed = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stream-check") as pool:
        for (stream_id, source), finding in zip(
                targets, pool.map(lambda target: prober(target[1]), targets), strict=True):
            changed += _keep(db, stream_id, source, finding)
    return changed


def _targets(db: Database) -> list[tuple[int, Source]]:
    with db.session() as session:
        rows, _total = service.listing(session=session, limit=100_000)
        return [(s.id, service.source_of(s)) for s in rows]


def _keep(db: Database, stream_id: int, source: Source, finding: Finding) -> bool:
    with db.session() as session:
        stream = session.get(Stream, stream_id)
        if stream is None or service.source_of(stream) != source:
            return False  # deleted, or given a new address while we listened to the old one
        before = stream.state
        if not service.record(stream, finding, now=utcnow()):
            return False
    if finding.state in (StreamState.SILENT, StreamState.UNREACHABLE):
        log.warning("stream %r (%d) is now %s (was %s): %s", stream.name, stream_id,
                    finding.state.value, before, finding.error or "no sound")
    else:
        log.info("stream %r (%d) is now %s (was %s)", stream.name, stream_id,
                 finding.state.value, before)
    return True
