"""Relays in the activity report: their on-air time counts, by stream, and they are no
bulletin (the distinct bulletins stay as they were)."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import date, timedelta
from pathlib import Path

import openpyxl
from sqlalchemy.orm import Session

from scheduler.catalogue.names import built_in
from scheduler.db import Database
from scheduler.playbacks.models import Playback
from scheduler.reports import csvfile, periods, service
from scheduler.reports.cutoffs import Cutoffs
from scheduler.reports.render import pdf, xlsx
from scheduler.reports.schemas import LIVE_SOURCE, ActivityReport
from scheduler.streams.models import Stream, StreamKind
from tests.scheduler.report_scenario import (
    FIRST,
    LAST,
    REPORTED_AT,
    _report,
    build,
    local,
    matches,
)
from tests.support.clock import Clock
from wardcast.protocol import EventType


def _relay(session: Session, clock: Clock, stream: Stream, station_id: int, day: date,
           seconds: float, end: EventType = EventType.FINISHED) -> None:
    """A 30-minute relay at 05:30 on the station, on air for `seconds`."""
    at = local(day, 5, 30)
    row = Playback(station_id=station_id, stream_id=stream.id, duration_ms=1_800_000,
                   scheduled_at=at, priority="normal", status="planned", created_at=at,
                   updated_at=at)
    session.add(row)
    session.flush()
    _report(session, clock, station_id, row.id, EventType.STARTED, at)
    _report(session, clock, station_id, row.id, end, at + timedelta(seconds=seconds),
            reason="stream_lost: at 720.0 s" if end is EventType.INTERRUPTED else None)


def _activity(db: Database) -> ActivityReport:
    with db.session() as session:
        return service.activity(session=session, period=periods.between(
            FIRST, LAST, timezone="Asia/Ho_Chi_Minh"), wards=None, now=REPORTED_AT,
            cutoffs=Cutoffs())


def test_relays_count_on_air_by_stream(db: Database, clock: Clock, tmp_path: Path) -> None:
    city = build(db, clock)
    without = _activity(db)
    s1, s3 = city.station_ids["s1"], city.station_ids["s3"]
    with db.session() as session:
        vov, province = (Stream(name=name, name_key=name.lower(), url="http://127.0.0.1/x",
                                state="ok", created_at=clock.now, updated_at=clock.now)
                         for name in ("VOV1 Thời sự", "Đài tỉnh"))
        session.add_all([vov, province])
        session.flush()
        _relay(session, clock, vov, s1, FIRST, 1800)
        _relay(session, clock, vov, s3, date(2026, 6, 3), 720, EventType.INTERRUPTED)
        _relay(session, clock, province, s1, LAST, 600)
        _relay(session, clock, vov, s1, LAST + timedelta(days=1), 1800)  # after the period
        session.commit()
    clock.at(REPORTED_AT)
    report = _activity(db)
    matches(db, report)  # every figure, by_stream too, worked out from the rows
    assert report.totals.by_stream == {"VOV1 Thời sự": 2520.0, "Đài tỉnh": 600.0}
    assert report.totals.on_air_seconds == without.totals.on_air_seconds + 3120
    station = {s.station_id: s for s in report.stations}
    assert station[s1].by_stream == {"VOV1 Thời sự": 1800.0, "Đài tỉnh": 600.0}
    assert station[s3].by_stream == {"VOV1 Thời sự": 720.0}
    assert (station[s1].played, station[s3].interrupted) == (
        {s.station_id: s for s in without.stations}[s1].played + 2,
        {s.station_id: s for s in without.stations}[s3].interrupted + 1)
    assert report.totals.bulletins == without.totals.bulletins == 3
    assert report.totals.by_language == without.totals.by_language
    out = io.BytesIO()
    csvfile.write(report, built_in(), out)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    column = rows[0].index("Tiếp âm: VOV1 Thời sự (giây)")
    assert "Tiếp âm: Đài tỉnh (giây)" in rows[0]
    assert "2520.0" in [row[column] for row in rows[1:]]
    out = io.BytesIO()
    xlsx.write(report, built_in(), out)
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    cells = {str(c.value) for sheet in book.worksheets for row in sheet.iter_rows()
             for c in row if c.value is not None}
    assert {"Tiếp âm (nguồn)", "VOV1 Thời sự", "Đài tỉnh"} <= cells
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.render(report, built_in()))
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "3. Tiếp âm theo nguồn" in text and "VOV1 Thời sự" in text


def test_live_sessions_count_on_air_under_one_source(db: Database, clock: Clock) -> None:
    """Each live session has a stream of its own, named by its start time; the report counts
    them all as one source, "Phát trực tiếp", beside the relayed programmes."""
    city = build(db, clock)
    s1, s3 = city.station_ids["s1"], city.station_ids["s3"]
    with db.session() as session:
        vov = Stream(name="VOV1 Thời sự", name_key="vov1 thời sự", url="http://127.0.0.1/x",
                     state="ok", created_at=clock.now, updated_at=clock.now)
        spoken = [Stream(name=f"Phát trực tiếp 0{hour}:15 02/06/2026",
                         name_key=f"live {hour}", url=f"http://127.0.0.1/live-{hour}.ogg",
                         kind=StreamKind.LIVE.value, state="ok", created_at=clock.now,
                         updated_at=clock.now) for hour in (6, 7)]
        session.add_all([vov, *spoken])
        session.flush()
        _relay(session, clock, vov, s1, FIRST, 1800)
        _relay(session, clock, spoken[0], s1, FIRST + timedelta(days=1), 95)
        _relay(session, clock, spoken[0], s3, FIRST + timedelta(days=1), 90)
        _relay(session, clock, spoken[1], s1, FIRST + timedelta(days=2), 40,
               EventType.INTERRUPTED)
        session.commit()
    clock.at(REPORTED_AT)
    report = _activity(db)
    matches(db, report)
    assert report.totals.by_stream == {"VOV1 Thời sự": 1800.0, LIVE_SOURCE: 225.0}
    station = {s.station_id: s for s in report.stations}
    assert station[s1].by_stream == {"VOV1 Thời sự": 1800.0, LIVE_SOURCE: 135.0}
    assert station[s3].by_stream == {LIVE_SOURCE: 90.0}
