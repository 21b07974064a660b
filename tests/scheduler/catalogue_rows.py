"""Bulletin rows written straight into the database, for tests about their labels only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from scheduler.bulletins.models import Bulletin


def bulletin_row(session: Session, **fields: Any) -> Bulletin:
    """Add a pending bulletin with made-up audio facts and the given fields; return it."""
    digest = uuid.uuid4().hex * 2
    values: dict[str, Any] = {
        "title": f"Bản tin {digest[:6]}", "language": "vi", "status": "pending",
        "duration_ms": 1000, "sha256": digest, "size_bytes": 1, "loudness_lufs": -16.0,
        "true_peak_dbtp": -2.0, "source_loudness_lufs": -20.0, "source_duration_ms": 1000,
        "source_format": "wav", "normalization_type": "linear", "original_sha256": digest,
        "original_filename": "a.wav", "created_at": datetime.now(UTC)} | fields
    bulletin = Bulletin(**values)
    session.add(bulletin)
    session.flush()
    return bulletin
