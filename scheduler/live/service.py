"""Live sessions: who may hear which mount."""

from __future__ import annotations

from sqlalchemy.orm import Session


def may_listen(*, session: Session, mount: str, station_id: int) -> bool:
    """Tell whether a station is a target of the live session a mount (`live-….ogg`) is for.

    There are no live sessions yet, so no station may listen to any mount."""
    return False
