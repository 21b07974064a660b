"""One unit of work per user action: the session commits, and only then do its plans go out.

Whatever changes playbacks notes the stations on the session (`plans_changed`); work that must
wait for the commit, such as telling the broker, is queued on it (`after_commit`). The request's
session (`unit_of_work`, used by scheduler/deps.py) commits and then pushes the plans and runs
that work, so no router or page handler commits or pushes by itself. A rolled-back change, or a
commit that fails, pushes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from scheduler.db import Database

Push = Callable[[set[int]], None]
Action = Callable[[], None]
# tells the broker of stations' new groups: each one's groups before and after the change
Changes = Mapping[int, tuple[Sequence[int], Sequence[int]]]
Memberships = Callable[[Changes], None]
# session.info keys: what the open transaction changed, and what committed but is not sent yet
_PLANS, _ACTIONS = "wardcast.plans", "wardcast.after_commit"
_MEMBERSHIPS = "wardcast.memberships"
_COMMITTED_PLANS, _COMMITTED_ACTIONS = "wardcast.plans.committed", "wardcast.after_commit.done"


def plans_changed(session: Session, station_ids: Iterable[int]) -> None:
    """Note that these stations' plans changed in the session's transaction."""
    session.info.setdefault(_PLANS, set()).update(station_ids)


def memberships_changed(session: Session, changes: Changes) -> None:
    """Note that these stations' groups changed (from, to): their plans list their groups,
    and the broker lets each read its groups' urgent topics; both follow the commit."""
    plans_changed(session, changes)
    tell: Memberships | None = session.info.get(_MEMBERSHIPS)
    if tell is not None and changes:
        after_commit(session, partial(tell, dict(changes)))


def after_commit(session: Session, action: Action) -> None:
    """Run action once the session's transaction has committed (never if it rolls back)."""
    session.info.setdefault(_ACTIONS, []).append(action)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the transaction goes on
    info: dict[str, Any] = session.info
    info.setdefault(_COMMITTED_PLANS, set()).update(info.pop(_PLANS, ()))
    info.setdefault(_COMMITTED_ACTIONS, []).extend(info.pop(_ACTIONS, ()))


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    # a savepoint rolled back keeps what the transaction noted before it: a plan sent again
    # unchanged costs little, a plan not sent is a station playing the old one
    if not session.in_nested_transaction():
        session.info.pop(_PLANS, None)
        session.info.pop(_ACTIONS, None)


def send_committed(session: Session, push: Push) -> set[int]:
    """Run the after-commit work of the session's commits, then push the plans they changed;
    return the stations pushed."""
    plans: set[int] = session.info.pop(_COMMITTED_PLANS, set())
    actions: list[Action] = session.info.pop(_COMMITTED_ACTIONS, [])
    for action in actions:  # first: a plan that lists a new group finds the broker told
        action()
    if plans:
        push(plans)
    return plans


@contextmanager
def unit_of_work(db: Database, push: Push,
                 memberships: Memberships | None = None) -> Iterator[Session]:
    """Yield the session of one action; commit it, then push the plans it changed (and tell
    the broker of changed group memberships).

    An error rolls the action back and pushes nothing of it (what an earlier commit in the
    same session made durable still goes out).
    """
    session: Session | None = None
    try:
        with db.session() as session:
            session.info[_MEMBERSHIPS] = memberships
            yield session
    finally:
        if session is not None:
            send_committed(session, push)
