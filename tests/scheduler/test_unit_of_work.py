"""One unit of work per action: the request's session commits, and only then go its plans.

No router or page handler commits or pushes by itself; the plans a change made are pushed
once it has committed (a fresh connection sees it then), never after a refusal or a rollback,
and a commit that fails pushes nothing.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from scheduler.db import Database
from scheduler.playbacks.models import Playback, PlaybackStatus
from scheduler.runtime import Runtime
from scheduler.unitofwork import after_commit, plans_changed, unit_of_work
from tests.scheduler.conftest import approved_bulletin, station
from wardcast.protocol import to_wire

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted([*(ROOT / "scheduler").rglob("router.py"),
                   *(ROOT / "scheduler" / "web").glob("*.py")])
# what only the unit of work may do: commit, and push plans or run after-commit work
FORBIDDEN = {"commit", "push_plans", "plan_and_push", "send_plans", "publish_plans",
             "send_command", "station_revoked", "token_changed", "station_created"}


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_router_or_page_handler_commits_or_pushes(path: Path) -> None:
    calls = [f"{path.relative_to(ROOT)}:{node.lineno} calls .{node.func.attr}()"
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and node.func.attr in FORBIDDEN]
    assert not calls, calls


class Pushes:
    """Stands in for the runtime's push: notes what went out and what was committed then."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sent: list[set[int]] = []
        self.seen: list[dict[int, int]] = []  # per push: open playbacks per station, as committed

    def __call__(self, station_ids: set[int]) -> None:
        self.sent.append(set(station_ids))
        with self.db.sessions() as fresh:  # another connection: only what was committed
            rows = fresh.execute(select(Playback.station_id, func.count())
                                 .where(Playback.station_id.in_(sorted(station_ids)),
                                        Playback.status == PlaybackStatus.PLANNED.value)
                                 .group_by(Playback.station_id))
            self.seen.append({sid: int(n) for sid, n in rows})

    def of(self, station_id: int) -> list[set[int]]:
        return [ids for ids in self.sent if station_id in ids]


@pytest.fixture
def pushes(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Pushes:
    recorder = Pushes(runtime.db)
    monkeypatch.setattr(runtime, "push_plans", recorder)
    return recorder


@pytest.fixture
def bulletin_id(client: TestClient, admin: dict[str, str], speech_mp3: Path) -> int:
    return approved_bulletin(client, admin, speech_mp3)


ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the stations' (the scheduler's default)


def _soon() -> datetime:
    """In two hours, on the minute (as the editor's times are)."""
    return (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)


def _body(bulletin_id: int, station_id: int, at: datetime) -> dict[str, object]:
    return {"bulletin_id": bulletin_id, "station_ids": [station_id], "priority": "normal",
            "starts_at": to_wire(at)}


def test_a_new_timetable_goes_out_once_committed(client: TestClient, admin: dict[str, str],
                                                 bulletin_id: int, pushes: Pushes) -> None:
    target = int(station(client, admin, "Trạm A")["id"])
    made = client.post("/api/v1/timetables", headers=admin,
                       json=_body(bulletin_id, target, _soon()))
    assert made.status_code == 201, made.text
    assert pushes.of(target) == [{target}]
    assert pushes.seen[pushes.sent.index({target})] == {target: 1}  # committed before the push


def test_a_refused_timetable_pushes_nothing(client: TestClient, admin: dict[str, str],
                                            bulletin_id: int, pushes: Pushes) -> None:
    target = int(station(client, admin, "Trạm A")["id"])
    body = _body(bulletin_id, target, _soon())
    assert client.post("/api/v1/timetables", headers=admin, json=body).status_code == 201
    pushes.sent.clear()
    clash = client.post("/api/v1/timetables", headers=admin, json=body)
    assert clash.status_code == 409, clash.text
    assert pushes.sent == []


def test_a_page_that_refuses_a_timetable_pushes_nothing(client: TestClient,
                                                        admin: dict[str, str], bulletin_id: int,
                                                        pushes: Pushes) -> None:
    """The editor shows the refusal after rolling back; the request still ends in a commit."""
    target = int(station(client, admin, "Trạm A")["id"])
    at = _soon()
    assert client.post("/api/v1/timetables", headers=admin,
                       json=_body(bulletin_id, target, at)).status_code == 201
    pushes.sent.clear()
    local = at.astimezone(ZONE)  # the same slot, as the editor takes it
    client.cookies.set("wardcast_session", admin["Authorization"].removeprefix("Bearer "))
    answer = client.post("/timetables", headers={"Origin": "http://testserver"}, data={
        "what": f"b:{bulletin_id}", "station_ids": [str(target)],
        "day": local.date().isoformat(), "at": local.strftime("%H:%M"), "repeat": "once",
        "priority": "normal"}, follow_redirects=False)
    assert answer.status_code == 409, answer.text
    assert pushes.sent == []


def test_a_bulletins_new_dates_go_out_in_one_push_after_the_commit(
        client: TestClient, admin: dict[str, str], bulletin_id: int, pushes: Pushes) -> None:
    target = int(station(client, admin, "Trạm A")["id"])
    at = _soon()
    assert client.post("/api/v1/timetables", headers=admin, json={
        **_body(bulletin_id, target, at), "recurrence": "FREQ=DAILY"}).status_code == 201
    pushes.sent.clear()
    pushes.seen.clear()
    # the first run stays inside the new dates; the next day's (within the horizon) does not
    changed = client.patch(f"/api/v1/bulletins/{bulletin_id}", headers=admin,
                           json={"valid_until": at.astimezone(ZONE).date().isoformat()})
    assert changed.status_code == 200, changed.text
    assert pushes.sent == [{target}]
    assert pushes.seen == [{target: 1}]  # its next run was already skipped when it went out


# the unit of work itself, on each database


def _noted(session: Session, *ids: int) -> None:
    session.execute(text("SELECT 1"))  # a transaction to commit or roll back
    plans_changed(session, ids)


def test_what_a_rolled_back_action_noted_is_never_pushed(db: Database) -> None:
    sent: list[set[int]] = []
    ran: list[str] = []
    with pytest.raises(LookupError), unit_of_work(db, sent.append) as session:
        _noted(session, 1, 2)
        after_commit(session, lambda: ran.append("told the broker"))
        raise LookupError("refused")
    with unit_of_work(db, sent.append) as session:  # refused, then shown a page: still commits
        _noted(session, 3)
        after_commit(session, lambda: ran.append("told the broker"))
        session.rollback()
        _noted(session, 4)
    assert sent == [{4}]
    assert ran == []


def test_a_commit_that_fails_pushes_nothing(db: Database) -> None:
    sent: list[set[int]] = []

    def fail(_session: Session) -> None:
        raise ConnectionError("the database went away")

    event.listen(Session, "before_commit", fail)
    try:
        with pytest.raises(ConnectionError), unit_of_work(db, sent.append) as session:
            _noted(session, 1)
    finally:
        event.remove(Session, "before_commit", fail)
    assert sent == []


def test_the_push_comes_after_the_commit_and_once(db: Database) -> None:
    order: list[str] = []

    def committed(_session: Session) -> None:
        order.append("commit")

    event.listen(Session, "after_commit", committed)
    try:
        with unit_of_work(db, lambda ids: order.append(f"push {sorted(ids)}")) as session:
            _noted(session, 2, 1)
            with session.begin_nested():  # a savepoint released is no commit of the action
                _noted(session, 3)
            _noted(session, 1)
            after_commit(session, lambda: order.append("broker"))
    finally:
        event.remove(Session, "after_commit", committed)
    # the broker is told first (a station's new groups): the plan that lists them comes after
    assert order[-3:] == ["commit", "broker", "push [1, 2, 3]"]


def test_what_an_earlier_commit_made_durable_still_goes_out(db: Database) -> None:
    sent: list[set[int]] = []
    with pytest.raises(LookupError), unit_of_work(db, sent.append) as session:
        _noted(session, 1)
        session.commit()  # e.g. a failed login counted before the request fails
        _noted(session, 2)
        raise LookupError("refused")
    assert sent == [{1}]

