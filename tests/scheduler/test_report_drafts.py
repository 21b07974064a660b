"""Report drafts: the job makes the city's and each ward's at its day (a local date in the
city's zone) with the figures the report has at that moment, never twice, keeps a failure on
its draft, and a draft is made again on request; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from scheduler.audit.models import AuditEvent
from scheduler.audit.service import Actor
from scheduler.config import Settings
from scheduler.db import Database
from scheduler.reports import periods, service
from scheduler.reports.cutoffs import Cutoffs
from scheduler.reports.drafts import service as drafts
from scheduler.reports.drafts.job import Outcome
from scheduler.reports.drafts.models import ReportDraft
from scheduler.reports.schemas import ActivityReport
from scheduler.users.models import User
from tests.scheduler.report_drafts_support import DRAFT_DAY, H1, play_now, run, stored
from tests.scheduler.report_scenario import (
    EA_TAM,
    TAN_LOI,
    build,
    local,
    matches,
)
from tests.support.clock import Clock

ZONE = "Asia/Ho_Chi_Minh"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


def _fresh(db: Database, ward: str | None, now: object) -> ActivityReport:
    with db.session() as session:
        return service.activity(session=session, wards=None if ward is None else [ward],
                                period=periods.named("2026-H1", timezone=ZONE,
                                                     cutoffs=Cutoffs()),
                                now=now, cutoffs=Cutoffs())  # type: ignore[arg-type]


def test_nothing_before_the_day_then_the_city_and_every_ward_at_it(
        db: Database, clock: Clock, settings: Settings) -> None:
    build(db, clock)
    eve = local(date(2026, 6, 9), 23, 59)
    assert run(db, settings, clock, eve) == Outcome()
    assert stored(db) == {}
    midnight = local(DRAFT_DAY, 0)
    assert midnight.date() == date(2026, 6, 9)  # still the 9th in UTC: the day is the city's
    outcome = run(db, settings, clock, midnight)
    assert (outcome.period, outcome.made, outcome.failed) == ("2026-H1",
                                                              [None, EA_TAM, TAN_LOI], [])
    made = stored(db)
    assert set(made) == {None, EA_TAM, TAN_LOI}
    for ward, draft in made.items():
        assert draft.figures is not None
        report = ActivityReport.model_validate(draft.figures)
        assert report == _fresh(db, ward, midnight), ward  # the report at that moment
        matches(db, report, first=H1[0], last=H1[1], now=midnight,
                wards=None if ward is None else {ward})
        assert (draft.kind, draft.period, draft.first_day, draft.last_day) == (
            "six_months", "2026-H1", *H1)
        assert (draft.generated_at, draft.generated_by, draft.revision) == (
            midnight, "(scheduler)", 1)
        assert report.wards_filter == (None if ward is None else [ward])
    assert made[None].figures is not None and made[None].figures["from"] == "2025-12-15"
    with db.session() as session:
        actions = session.scalars(select(AuditEvent.action).where(
            AuditEvent.target_type == "report_draft")).all()
    assert actions == ["report_draft.create"] * 3


def test_running_again_makes_nothing_twice(db: Database, clock: Clock,
                                           settings: Settings) -> None:
    build(db, clock)
    first = local(DRAFT_DAY, 6)
    run(db, settings, clock, first)
    before = {ward: (d.id, d.generated_at, d.figures) for ward, d in stored(db).items()}
    for later in (local(DRAFT_DAY, 7), local(date(2026, 6, 14), 23)):
        assert run(db, settings, clock, later) == Outcome(period="2026-H1")
    assert {ward: (d.id, d.generated_at, d.figures) for ward, d in stored(db).items()} == before


def test_the_database_refuses_a_second_draft_of_a_period_and_ward(db: Database,
                                                                  clock: Clock) -> None:
    """Two replicas racing: the second insert of the city's or a ward's draft fails."""
    period = periods.named("2026-H1", timezone=ZONE, cutoffs=Cutoffs())
    for ward in (None, TAN_LOI):
        with db.session() as session:
            for _ in range(2):
                session.add(ReportDraft(period="2026-H1", ward=ward, first_day=period.first,
                                        last_day=period.last, created_at=clock.now,
                                        generated_by="(scheduler)"))
            with pytest.raises(IntegrityError):
                session.flush()
            session.rollback()


def test_a_day_missed_while_down_is_made_up_until_the_period_ends(
        db: Database, clock: Clock, settings: Settings) -> None:
    build(db, clock)
    after = local(date(2026, 6, 15), 8)  # 2026-H1 is over: its drafts would be of no use
    assert run(db, settings, clock, after) == Outcome()
    late = local(date(2026, 6, 13), 9)  # down on the 10th, back on the 13th
    assert run(db, settings, clock, late).made == [None, EA_TAM, TAN_LOI]


def test_the_year_is_drafted_on_its_own_day(db: Database, clock: Clock,
                                            settings: Settings) -> None:
    build(db, clock)
    moment = local(date(2026, 12, 10), 6)
    outcome = run(db, settings, clock, moment)
    assert (outcome.period, outcome.made) == ("2026", [None, EA_TAM, TAN_LOI])
    city = stored(db)[None]
    assert (city.kind, city.first_day, city.last_day) == ("year", date(2025, 12, 15),
                                                          date(2026, 12, 14))
    assert city.figures is not None
    matches(db, ActivityReport.model_validate(city.figures), first=city.first_day,
            last=city.last_day, now=moment)


def test_no_drafts_when_no_day_is_set(db: Database, clock: Clock, tmp_path: Path,
                                      database_url: str) -> None:
    build(db, clock)
    quiet = Settings(data_dir=tmp_path / "data", database_url=database_url,
                     report_draft_dates="")
    assert run(db, quiet, clock, local(DRAFT_DAY, 6)) == Outcome()


def test_a_draft_made_again_has_the_figures_of_now(db: Database, clock: Clock,
                                                   settings: Settings) -> None:
    city = build(db, clock)
    run(db, settings, clock, local(DRAFT_DAY, 6))
    old = stored(db)
    play_now(db, clock, city, "s1", local(date(2026, 6, 11), 7))  # a Tân Lợi station
    again = local(date(2026, 6, 11), 9)
    clock.at(again)
    with db.session() as session:
        admin = session.get(User, city.admin_id)
        assert admin is not None
        for ward in (None, TAN_LOI):
            drafts.regenerate(session=session, draft_id=old[ward].id, user=admin,
                              actor=Actor(admin.id, admin.username),
                              now=again, cutoffs=Cutoffs(), timezone=ZONE)
        session.commit()
    new = stored(db)
    for ward in (None, TAN_LOI):
        assert new[ward].figures is not None and old[ward].figures is not None
        report = ActivityReport.model_validate(new[ward].figures)
        before = ActivityReport.model_validate(old[ward].figures)
        assert report.totals.played == before.totals.played + 1
        assert report == _fresh(db, ward, again)
        matches(db, report, first=H1[0], last=H1[1], now=again,
                wards=None if ward is None else {ward})
        assert (new[ward].id, new[ward].revision, new[ward].generated_at,
                new[ward].generated_by) == (old[ward].id, 2, again, "report-admin")
    assert new[EA_TAM].figures == old[EA_TAM].figures  # not asked: as it was
    with db.session() as session:
        audited = session.scalar(select(AuditEvent).where(
            AuditEvent.action == "report_draft.regenerate",
            AuditEvent.target_id == str(old[None].id)))
    assert audited is not None and audited.username == "report-admin"
    detail = json.loads(audited.detail)
    assert detail["replaced"]["revision"] == 1
    assert detail["replaced"]["totals"]["played"] + 1 == detail["totals"]["played"]


def _failing_for(monkeypatch: pytest.MonkeyPatch, ward: str) -> None:
    """Make the report of one ward fail, as a database in trouble would (injected)."""
    real = service.activity

    def failing(**kwargs: object) -> ActivityReport:
        if kwargs["wards"] == [ward]:
            raise RuntimeError("cơ sở dữ liệu quá tải")
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "activity", failing)


def test_a_failure_is_kept_on_its_draft_and_made_at_the_next_run(
        db: Database, clock: Clock, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    build(db, clock)
    with monkeypatch.context() as patch:
        _failing_for(patch, EA_TAM)
        outcome = run(db, settings, clock, local(DRAFT_DAY, 6))
    assert (outcome.made, outcome.failed) == ([None, TAN_LOI], [EA_TAM])  # the others made
    broken = stored(db)[EA_TAM]
    assert (broken.generated_at, broken.figures, broken.attempts) == (None, None, 1)
    assert broken.error == "RuntimeError: cơ sở dữ liệu quá tải"
    assert run(db, settings, clock, local(DRAFT_DAY, 7)).made == [EA_TAM]
    fixed = stored(db)[EA_TAM]
    assert (fixed.id, fixed.error, fixed.attempts, fixed.revision) == (broken.id, None, 0, 1)
    assert fixed.figures is not None
    assert ActivityReport.model_validate(fixed.figures) == _fresh(
        db, EA_TAM, local(DRAFT_DAY, 7))


def test_after_a_few_failures_a_draft_is_left_to_people(
        db: Database, clock: Clock, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    city = build(db, clock)
    with monkeypatch.context() as patch:
        _failing_for(patch, EA_TAM)
        for hour in range(6, 6 + drafts.MAX_ATTEMPTS):
            assert run(db, settings, clock, local(DRAFT_DAY, hour)).failed == [EA_TAM]
        assert stored(db)[EA_TAM].attempts == drafts.MAX_ATTEMPTS
    assert run(db, settings, clock, local(DRAFT_DAY, 12)) == Outcome(period="2026-H1")
    broken = stored(db)[EA_TAM]
    clock.at(local(DRAFT_DAY, 13))
    with db.session() as session:  # someone makes it again (the page's button, the API)
        admin = session.get_one(User, city.admin_id)
        drafts.regenerate(session=session, draft_id=broken.id, user=admin,
                          actor=Actor(admin.id, admin.username), now=clock.now,
                          cutoffs=Cutoffs(), timezone=ZONE)
        session.commit()
    fixed = stored(db)[EA_TAM]
    assert (fixed.error, fixed.attempts, fixed.revision) == (None, 0, 1)
    assert fixed.generated_at == local(DRAFT_DAY, 13)


@pytest.mark.parametrize(("dates", "why"), [
    ("13-10", "MM-DD"), ("06-10,06-10", "twice"), ("06-01,06-10", "both draft the report"),
    ("06-10;12-10", "MM-DD"),
])
def test_draft_days_that_cannot_work_are_refused_at_start(tmp_path: Path, dates: str,
                                                          why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        Settings(data_dir=tmp_path / "data", report_draft_dates=dates)
