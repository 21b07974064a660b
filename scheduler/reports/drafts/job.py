"""The drafting job: on a draft day (a local date in WARDCAST_TIMEZONE) make the city's and
each ward's draft of the period whose deadline follows, one at a time, then mail the city's.

Idempotent: a draft that exists is not made again (a unique key on period and ward settles
two replicas racing), and every draft is committed on its own, so a run cut short goes on
where it stopped. A failure is logged and stored on its draft, and tried again at the next
run while attempts are left; it never stops the run nor the scheduler.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from scheduler.config import Settings
from scheduler.db import Database
from scheduler.reports import formats, periods
from scheduler.reports.drafts import mail
from scheduler.reports.drafts import service as drafts
from scheduler.stations import service as stations

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What a run did."""

    period: str | None = None  # the period due, if any
    made: list[str | None] = field(default_factory=list)  # wards (None: the city)
    failed: list[str | None] = field(default_factory=list)
    mailed: bool | None = None  # None: nothing to mail


def run(*, db: Database, settings: Settings, now: datetime,
        leading: Callable[[], bool] = lambda: True) -> Outcome:
    """Make the due period's missing drafts (figures as of `now`), then mail the city's."""
    cutoffs = settings.report_cutoffs
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    due = settings.draft_dates.due(today, cutoffs)
    if due is None:
        return Outcome()
    period = periods.named(due.period, timezone=settings.timezone, cutoffs=cutoffs)
    outcome = Outcome(period=due.period)
    with db.session() as session:
        wards = stations.wards(session=session)
    for ward in [None, *wards]:
        if not leading():  # another replica leads now and runs this job itself
            log.info("report drafts: no longer the planner; stopping")
            return outcome
        made = _make(db, drafts.Scope(period, ward), now, settings)
        if made is not None:
            (outcome.made if made else outcome.failed).append(ward)
    if outcome.made or outcome.failed:
        log.info("report drafts of %s: %d made, %d failed", due.period, len(outcome.made),
                 len(outcome.failed))
    outcome.mailed = _mail(db, settings, due.period, wards=len(wards))
    return outcome


def _make(db: Database, scope: drafts.Scope, now: datetime, settings: Settings) -> bool | None:
    """Make one draft unless it is there: True when made, False when it failed, None when
    there was nothing to do."""
    with db.session() as session:
        draft = drafts.find(session=session, period=scope.name, ward=scope.ward)
        if draft is not None and (draft.ready or draft.attempts >= drafts.MAX_ATTEMPTS):
            return None
        try:
            drafts.compute(session=session, scope=scope, now=now, draft=draft,
                           cutoffs=settings.report_cutoffs, actor=drafts.SCHEDULER)
            session.commit()
            return True
        except IntegrityError:  # another replica made it a moment ago
            session.rollback()
            return None
        except Exception as exc:  # any failure: stored on the draft, tried at the next run
            log.exception("report draft of %s for %s failed", scope.name,
                          scope.ward or "the city")
            session.rollback()
            error = f"{type(exc).__name__}: {exc}"
    with db.session() as session:
        draft = drafts.find(session=session, period=scope.name, ward=scope.ward)
        drafts.failed(session=session, scope=scope, draft=draft, error=error,
                      actor=drafts.SCHEDULER)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
    return False


def _mail(db: Database, settings: Settings, period: str, *, wards: int) -> bool | None:
    """Mail the city's draft once (a few attempts); None when there is nothing to mail."""
    if not mail.enabled(settings):
        return None
    with db.session() as session:
        draft = drafts.find(session=session, period=period, ward=None)
        if (draft is None or not draft.ready or draft.mailed_at is not None
                or draft.mail_attempts >= drafts.MAX_ATTEMPTS):
            return None
        draft_id = draft.id
        try:
            message = mail.compose(draft=draft, report=drafts.report(draft),
                                   names=formats.names(session), settings=settings, wards=wards)
        except Exception as exc:  # a file that cannot be made (no Pango): said on the draft
            log.exception("report draft %d: the e-mail could not be made", draft_id)
            return _record(db, draft_id, settings, sent=False, error=f"{type(exc).__name__}: "
                                                                      f"{exc}")
    # no session and no transaction open while the SMTP server takes its time
    try:
        refused = mail.send(message, settings=settings)
    except Exception as exc:  # refused, unreachable, TLS, login...: said on the draft
        if isinstance(exc, smtplib.SMTPException | OSError):
            log.warning("report draft %d: e-mail to %s failed: %s", draft_id,
                        settings.report_mail_to, exc)
        else:
            log.exception("report draft %d: e-mail to %s failed", draft_id,
                          settings.report_mail_to)
        return _record(db, draft_id, settings, sent=False,
                       error=f"{type(exc).__name__}: {exc}")
    error = ("; ".join(f"{who}: {code} {reply.decode(errors='replace')}"
                       for who, (code, reply) in refused.items()) or None)
    log.info("report draft %d e-mailed to %s", draft_id, settings.report_mail_to)
    return _record(db, draft_id, settings, sent=True, error=error)


def _record(db: Database, draft_id: int, settings: Settings, *, sent: bool,
            error: str | None) -> bool:
    with db.session() as session:
        drafts.mailed(session=session, draft_id=draft_id, recipients=settings.report_mail_list,
                      error=error, sent=sent)
        session.commit()
    return sent

