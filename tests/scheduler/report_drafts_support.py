"""Helpers of the report drafts' tests: the job run at a moment of a moved clock, the drafts
as stored, and a bulletin played now."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import undefer

from scheduler.broadcasts import service as broadcasts
from scheduler.broadcasts.schemas import BroadcastCreate
from scheduler.config import Settings
from scheduler.db import Database
from scheduler.playbacks import ledger
from scheduler.reports.drafts import job
from scheduler.reports.drafts.models import ReportDraft
from scheduler.users.models import User
from tests.scheduler.report_scenario import EA_TAM, TAN_LOI, City, build, local
from tests.support.clock import Clock
from wardcast.protocol import Event, EventType, Priority

H1 = (date(2025, 12, 15), date(2026, 6, 14))  # 2026-H1, Decree 09/2019's cut-offs
DRAFT_DAY = date(2026, 6, 10)


def run(db: Database, settings: Settings, clock: Clock, moment: datetime) -> job.Outcome:
    """Run the job as the scheduler would at this moment."""
    clock.at(moment)
    return job.run(db=db, settings=settings, now=moment)


def drafted(db: Database, settings: Settings, clock: Clock) -> City:
    """The report scenario, and its drafts made by the job on the draft day at 06:00 (even
    when the app's own drafting is idle)."""
    city = build(db, clock)
    drafting = settings.model_copy(update={"report_draft_dates": "06-10,12-10"})
    assert run(db, drafting, clock, local(DRAFT_DAY, 6)).made == [None, EA_TAM, TAN_LOI]
    return city


def stored(db: Database) -> dict[str | None, ReportDraft]:
    """Every draft by ward (None: the city's), figures loaded."""
    with db.session() as session:
        rows = session.scalars(select(ReportDraft).options(undefer(ReportDraft.figures)))
        found = {row.ward: row for row in rows}
        session.expunge_all()
    return found


def play_now(db: Database, clock: Clock, city: City, station: str, at: datetime,
             seconds: float = 60) -> int:
    """Broadcast the Vietnamese bulletin on a station at `at`; it plays to the end."""
    clock.at(at)
    sid = city.station_ids[station]
    with db.session() as session:
        admin = session.get(User, city.admin_id)
        assert admin is not None
        playback = broadcasts.create(session=session, by=admin, data=BroadcastCreate(
            bulletin_id=city.bulletin_ids["vi"], station_ids=[sid],
            priority=Priority.NORMAL)).playback_ids[0]
        session.commit()
        for kind, moment in ((EventType.STARTED, at + timedelta(seconds=1)),
                             (EventType.FINISHED, at + timedelta(seconds=1 + seconds))):
            clock.at(moment + timedelta(seconds=1))
            ledger.apply_events(session=session, reports=[(sid, Event(
                event_id=uuid.uuid4().hex, playback_id=playback, type=kind, at=moment))])
        session.commit()
    return playback
