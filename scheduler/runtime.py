"""The long-lived parts of a running scheduler, shared by routes and jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from scheduler.broker.accounts import StationAccounts
from scheduler.bulletins.storage import MediaStore
from scheduler.config import Settings
from scheduler.db import Database
from scheduler.dispatch.dispatcher import Dispatcher
from scheduler.leader import Leadership
from scheduler.live.icecast import LiveServer
from scheduler.live.ingest import Ingests
from scheduler.planning import planner
from scheduler.timetables.models import Timetable
from scheduler.unitofwork import unit_of_work
from wardcast.protocol import utcnow


@dataclass
class Runtime:
    settings: Settings
    db: Database
    store: MediaStore
    dispatcher: Dispatcher | None = None
    accounts: StationAccounts | None = None
    broker_running: bool = field(default=False)
    leadership: Leadership | None = None  # set by jobs.start_jobs
    # where this process's API is served (`wardcast serve` says), for Icecast's listener check
    api_url: str | None = None
    live: LiveServer | None = None  # set in the lifespan: the streaming server, if any
    ingests: Ingests = field(default_factory=Ingests)  # this process's live transcoders

    @property
    def is_leader(self) -> bool:
        """Whether this replica runs the planner and the watchdog (docs/scaling.md)."""
        return self.leadership is not None and self.leadership.is_leader

    @property
    def horizon(self) -> timedelta:
        return timedelta(hours=self.settings.horizon_hours)

    @property
    def at_risk_lead(self) -> timedelta:
        """How long before its slot a playback the station is not ready for is at risk."""
        return timedelta(seconds=self.settings.at_risk_lead_s)

    @property
    def lookahead(self) -> timedelta:
        """How far ahead new and changed timetables are checked for clashes."""
        return max(timedelta(days=self.settings.lookahead_days), self.horizon)

    def push_plans(self, station_ids: set[int]) -> None:
        if self.dispatcher is not None:
            self.dispatcher.push_plans(station_ids)

    def plan_and_push(self, only: list[int] | None = None) -> set[int]:
        """Plan the horizon (for some timetables or all) and send changed plans."""
        with unit_of_work(self.db, self.push_plans) as session:
            targets = ([t for t in (session.get(Timetable, i) for i in only) if t is not None]
                       if only is not None else None)
            return planner.plan(session=session, now=utcnow(), horizon=self.horizon,
                                only=targets)
