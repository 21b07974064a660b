"""Periodic jobs on one APScheduler 3.11 scheduler; jobs carry no ORM objects."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from scheduler.leader import Leadership
from scheduler.playbacks import ledger
from scheduler.reports.drafts import job as drafts
from scheduler.reports.kept import fill as tallies
from scheduler.runtime import Runtime
from scheduler.stations import service as stations
from scheduler.streams import probe as stream_probe
from scheduler.streams import watch as stream_watch
from wardcast.protocol import RECONNECT_MAX_S, utcnow

log = logging.getLogger(__name__)


def wall_clock() -> datetime:
    """Now on APScheduler's clock, the machine's: when jobs first run. Not the domain's
    utcnow, which tests move (a job first due months before APScheduler's now would have it
    count every missed interval since, millions for a 2 s one, before coalescing them)."""
    return datetime.now(UTC)

# An agent whose link works is back within RECONNECT_MAX_S of the broker, and says so at once;
# a margin covers a slow 3G handshake. One still silent then is taken as offline. It is also
# longer than an agent takes to resend an unconfirmed event (twice its --resend-after, 30 s).
PRESENCE_WINDOW_S = RECONNECT_MAX_S + 15


def roll_horizon(runtime: Runtime) -> None:
    """Plan every active timetable up to the horizon and send the plans that changed."""
    if not runtime.is_leader:
        return
    changed = runtime.plan_and_push()
    if changed:
        log.info("planned new playbacks for %d station(s)", len(changed))


def watchdog(runtime: Runtime) -> None:
    """Mark `missed` the slots nobody reported starting.

    Only while the scheduler has been connected to the broker for a whole grace period and
    has drained what arrived: reports queued for it while it was away must land first. A
    station counts as online only once heard over this connection (after a broker restart
    its retained status is the broker's memory, not the station); one not heard by the time
    every working agent would have reconnected is marked offline.
    """
    settings = runtime.settings
    dispatcher = runtime.dispatcher
    if not runtime.is_leader or dispatcher is None:
        return
    heard_since = dispatcher.link.up_since()
    now = utcnow()
    up_for = (now - heard_since).total_seconds() if heard_since is not None else 0.0
    if heard_since is None or up_for < settings.missed_grace_s or dispatcher.inbox.qsize():
        return
    with runtime.db.session() as session:
        if up_for >= PRESENCE_WINDOW_S:
            if gone := stations.mark_unheard_offline(session=session, heard_since=heard_since):
                log.warning("%d station(s) not heard since the broker connection was made "
                            "%.0f s ago: marked offline (%s)", len(gone), up_for,
                            ", ".join(gone[:20]) + (" …" if len(gone) > 20 else ""))
        moved = ledger.watchdog(session=session, now=now,
                                grace=timedelta(seconds=settings.missed_grace_s),
                                offline_grace=timedelta(seconds=settings.offline_grace_s),
                                heard_since=heard_since,
                                recovery=timedelta(seconds=PRESENCE_WINDOW_S))
    if moved:
        log.info("watchdog marked %d playback(s) missed", moved)


def report_drafts(runtime: Runtime) -> None:
    """Make the report drafts that are due and mail the city's (reports/drafts/job.py)."""
    if not runtime.is_leader:
        return
    try:
        drafts.run(db=runtime.db, settings=runtime.settings, now=utcnow(),
                   leading=lambda: runtime.is_leader)
    except Exception:  # the database went away mid-run, say: the next check tries again
        log.exception("report drafts: the run failed; the next check tries again")


def keep_tallies(runtime: Runtime) -> None:
    """Keep the report tallies of the months before this one (reports/kept/fill.py)."""
    if not runtime.is_leader:
        return
    try:
        tallies.fill(db=runtime.db, settings=runtime.settings, now=utcnow())
    except Exception:  # a writer left open, the database went away: reports count live
        log.exception("kept tallies: the fill failed; the next run tries again")


def watch_streams(runtime: Runtime) -> None:
    """Probe every stream source and keep what changed (streams/watch.py)."""
    if not runtime.is_leader:
        return
    try:
        stream_watch.check_all(db=runtime.db, prober=stream_probe.prober(
            listen_s=runtime.settings.stream_listen_s))
    except Exception:  # the database went away mid-run, say: the next run tries again
        log.exception("stream check: the run failed; the next run tries again")


SINGLETON_JOBS = ("roll_horizon", "watchdog", "report_drafts", "keep_tallies", "watch_streams")
# after the start-up's plans and pushes; then every WARDCAST_STREAM_CHECK_S
WATCH_STREAMS_AFTER = timedelta(seconds=20)
KEEP_TALLIES_EVERY = timedelta(days=1)
KEEP_TALLIES_AFTER = timedelta(minutes=2)  # after the start-up's plans and pushes


def start_jobs(runtime: Runtime) -> BackgroundScheduler:
    """Start the scheduler; the planner and the watchdog run only while this replica leads.

    A late run is coalesced, never skipped or doubled.
    """
    settings = runtime.settings
    # Three jobs every few seconds would fill the log with "Running job"; failures still show.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    leadership = Leadership(url=settings.sqlalchemy_url, replica=settings.replica_id or "main",
                            on_change=lambda leader: _lead(scheduler, runtime, leader))
    runtime.leadership = leadership
    scheduler.add_job(leadership.tick, "interval", id="leadership",
                      seconds=settings.leader_check_interval_s, next_run_time=wall_clock())
    scheduler.start()
    return scheduler


def stop_jobs(runtime: Runtime, scheduler: BackgroundScheduler) -> None:
    """Stop the jobs, then give up the planner lock so another replica takes over at once."""
    scheduler.shutdown(wait=False)
    if runtime.leadership is not None:
        runtime.leadership.release()


def _lead(scheduler: BackgroundScheduler, runtime: Runtime, leader: bool) -> None:
    """Add the singleton jobs on election; remove them on stepping down."""
    settings = runtime.settings
    if not leader:
        for job_id in SINGLETON_JOBS:
            if scheduler.get_job(job_id):
                scheduler.remove_job(job_id)
        return
    now = wall_clock()
    scheduler.add_job(roll_horizon, "interval", args=[runtime], id="roll_horizon",
                      seconds=settings.planner_interval_s, next_run_time=now,
                      replace_existing=True)
    # A new leader first waits one grace: reports in flight at a replica that just died are
    # re-sent by their agents, and must land before their slots can be declared missed.
    scheduler.add_job(watchdog, "interval", args=[runtime], id="watchdog",
                      seconds=settings.watchdog_interval_s,
                      next_run_time=now + timedelta(seconds=settings.missed_grace_s),
                      replace_existing=True)
    # Checked at election, so that drafts missed while no replica ran are made at once.
    scheduler.add_job(report_drafts, "interval", args=[runtime], id="report_drafts",
                      seconds=settings.report_draft_check_s, next_run_time=now,
                      replace_existing=True)
    # daily: a day's edits to old months are counted live until then; a new tally month
    # waits at most a day to be kept
    scheduler.add_job(keep_tallies, "interval", args=[runtime], id="keep_tallies",
                      seconds=KEEP_TALLIES_EVERY.total_seconds(),
                      next_run_time=now + KEEP_TALLIES_AFTER, replace_existing=True)
    scheduler.add_job(watch_streams, "interval", args=[runtime], id="watch_streams",
                      seconds=settings.stream_check_s,
                      next_run_time=now + min(WATCH_STREAMS_AFTER,
                                              timedelta(seconds=settings.stream_check_s)),
                      replace_existing=True)
