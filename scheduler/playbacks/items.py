"""What a playback plays, in SQL: its bulletin, or the stream it relays for its own span."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import ColumnElement, Select, func

from scheduler.bulletins.models import Bulletin
from scheduler.playbacks.models import Playback
from scheduler.streams.models import Stream

Q = TypeVar("Q", bound=Select)  # type: ignore[type-arg]

# the bulletin's title, or the relayed stream's name
TITLE: ColumnElement[str] = func.coalesce(Bulletin.title, Stream.name)
# the bulletin's length, or the relay's span
DURATION_MS: ColumnElement[int] = func.coalesce(Bulletin.duration_ms, Playback.duration_ms)


def joined(query: Q) -> Q:
    """Join a playbacks query to its bulletin or stream, keeping relays (outer joins)."""
    return query.outerjoin(Bulletin, Bulletin.id == Playback.bulletin_id).outerjoin(
        Stream, Stream.id == Playback.stream_id)
