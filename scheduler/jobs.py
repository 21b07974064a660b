"""Periodic jobs on one APScheduler 3.11 scheduler; jobs carry no ORM objects."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from scheduler.playbacks import ledger
from scheduler.runtime import Runtime
from wardcast.protocol import utcnow

log = logging.getLogger(__name__)


def roll_horizon(runtime: Runtime) -> None:
    """Plan every active timetable up to the horizon and send the plans that changed."""
    changed = runtime.plan_and_push()
    if changed:
        log.info("planned new playbacks for %d station(s)", len(changed))


def watchdog(runtime: Runtime) -> None:
    """Mark `missed` the slots nobody reported starting.

    Only while the scheduler has been connected to the broker for a whole grace period and
    has drained what arrived: reports queued for it while it was away must land first.
    """
    settings = runtime.settings
    dispatcher = runtime.dispatcher
    if dispatcher is None or dispatcher.link.connected_for() < settings.missed_grace_s:
        return
    if dispatcher.inbox.qsize():
        return
    with runtime.db.session() as session:
        moved = ledger.watchdog(session=session, now=utcnow(),
                                grace=timedelta(seconds=settings.missed_grace_s),
                                offline_grace=timedelta(seconds=settings.offline_grace_s))
    if moved:
        log.info("watchdog marked %d playback(s) missed", moved)


def start_jobs(runtime: Runtime) -> BackgroundScheduler:
    """Start the scheduler with both jobs; a late run is coalesced, never skipped or doubled."""
    settings = runtime.settings
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    scheduler.add_job(roll_horizon, "interval", args=[runtime], id="roll_horizon",
                      seconds=settings.planner_interval_s, next_run_time=utcnow())
    scheduler.add_job(watchdog, "interval", args=[runtime], id="watchdog",
                      seconds=settings.watchdog_interval_s)
    scheduler.start()
    return scheduler
