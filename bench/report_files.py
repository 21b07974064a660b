"""Benchmark: the activity report's files (XLSX and PDF) for a large fleet.

    python -m bench.report_files [--stations 10000] [--wards 500] [--quick]

A year's report of N stations in W wards, made up (2 playbacks a day each, three languages,
four topics, some outages), is written as XLSX and as PDF, each in a fresh process so that
its peak resident memory is its own. Computing the report is not timed here: the report
benchmark does that, and may call `time_files` with a real report. Target: each file within
15 s for 10,000 stations on 2 cores (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import random
import resource
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.data import WORK_DIR, print_table
from scheduler.catalogue.names import Names, built_in
from scheduler.reports.render import pdf, xlsx
from scheduler.reports.schemas import (
    ActivityReport,
    Comparison,
    Figures,
    Outage,
    StationFigures,
    WardFigures,
)

ZONE = "Asia/Ho_Chi_Minh"
LANGUAGES = ("vi", "rad", "jra")
TOPICS = ("chu-truong-chinh-sach", "y-te", "an-ninh-trat-tu", "")
REASONS = ("late", "offline_no_report", "plan_not_delivered", "media_unavailable")


@dataclass(frozen=True)
class FileTiming:
    file: str
    seconds: float
    size_bytes: int
    peak_rss_mb: float  # the process's peak so far, report included


def time_files(report: ActivityReport, names: Names, *,
               directory: Path | None = None) -> list[FileTiming]:
    """Write the report as XLSX then PDF in this process; time each (files kept if asked)."""
    timings = []
    for name, make in (("xlsx", _xlsx), ("pdf", pdf.render)):
        start = time.perf_counter()
        data = make(report, names)
        seconds = time.perf_counter() - start
        if directory is not None:
            (directory / f"report.{name}").write_bytes(data)
        timings.append(FileTiming(name, seconds, len(data), _peak_rss_mb()))
    return timings


def _xlsx(report: ActivityReport, names: Names) -> bytes:
    out = io.BytesIO()
    xlsx.write(report, names, out)
    return out.getvalue()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def made_up(*, stations: int, wards: int, seed: int = 15) -> ActivityReport:
    """A year's report over a fleet: every figure consistent from station up to city."""
    rng = random.Random(seed)
    first, last = date(2025, 12, 15), date(2026, 12, 14)
    rows = [_station(rng, number, f"Phường {1 + number % wards:03d}") for number in
            range(stations)]
    rows.sort(key=lambda s: (s.ward, s.name))
    by_ward: dict[str, list[StationFigures]] = {}
    for row in rows:
        by_ward.setdefault(row.ward, []).append(row)
    ward_rows = [WardFigures(ward=ward, stations=len(members), **_sum(members).model_dump())
                 for ward, members in by_ward.items()]
    totals = _sum(rows)
    return ActivityReport.model_validate({
        "from": first, "to": last, "timezone": ZONE, "period": "2026", "title": "Năm 2026",
        "generated_at": datetime(2026, 12, 10, 1, tzinfo=UTC), "totals": totals,
        "wards": ward_rows, "stations": rows,
        "previous": Comparison.model_validate({
            "from": date(2024, 12, 15), "to": date(2025, 12, 14), "totals": totals,
            "wards": ward_rows})})


def _station(rng: random.Random, number: int, ward: str) -> StationFigures:
    planned = 730
    missed, failed = rng.randrange(0, 12), rng.randrange(0, 4)
    played = planned - missed - failed
    seconds = played * rng.uniform(240, 600)
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(0, 8000))
    length = rng.uniform(600, 72 * 3600)
    observed = 365 * 86400.0
    return StationFigures(
        station_id=number + 1, name=f"Trạm truyền thanh số {number + 1:05d}", ward=ward,
        timezone=ZONE, planned=planned, played=played, missed=missed, failed=failed,
        on_air_seconds=seconds, bulletins=rng.randrange(50, 200), emergencies=rng.randrange(3),
        by_language=_split(rng, seconds, LANGUAGES), by_topic=_split(rng, seconds, TOPICS),
        by_category=_split(rng, seconds, TOPICS),
        not_played_by_reason=dict(zip(REASONS, (missed, 0, 0, failed), strict=True)),
        availability=(observed - length) / observed, online_seconds=observed - length,
        observed_seconds=observed,
        longest_outage=Outage(start=start, end=start + timedelta(seconds=length),
                              seconds=length))


def _split(rng: random.Random, total: float, keys: tuple[str, ...]) -> dict[str, float]:
    weights = [rng.random() for _ in keys]
    return {key: total * weight / sum(weights) for key, weight in zip(keys, weights, strict=True)}


def _sum(members: list[StationFigures]) -> Figures:
    """Add up stations' figures (availability: over all their observed time)."""
    out = Figures()
    for member in members:
        for field in ("planned", "played", "interrupted", "missed", "failed", "skipped",
                      "cancelled", "open", "on_air_seconds", "bulletins", "emergencies",
                      "online_seconds", "observed_seconds"):
            setattr(out, field, getattr(out, field) + getattr(member, field))
        for field in ("by_language", "by_topic", "by_category", "not_played_by_reason"):
            into, add = getattr(out, field), getattr(member, field)
            for key, value in add.items():
                into[key] = into.get(key, 0) + value
        if member.longest_outage and (out.longest_outage is None or
                                      member.longest_outage.seconds > out.longest_outage.seconds):
            out.longest_outage = member.longest_outage
    out.availability = out.online_seconds / out.observed_seconds if out.observed_seconds else None
    return out


def _one(kind: str, stations: int, wards: int,
         directory: str) -> tuple[float, float, int, float, float]:
    """In a fresh process: make the report, then write one file; return its figures."""
    report = made_up(stations=stations, wards=wards)
    before = _peak_rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    data = _xlsx(report, built_in()) if kind == "xlsx" else pdf.render(report, built_in())
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    Path(directory, f"report-{stations}.{kind}").write_bytes(data)
    return seconds, cpu, len(data), before, _peak_rss_mb()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--wards", type=int, default=0, help="default: one per 20 stations")
    parser.add_argument("--quick", action="store_true", help="60 stations: does it run?")
    args = parser.parse_args(argv)
    stations = 60 if args.quick else args.stations
    wards = args.wards or max(1, stations // 20)
    directory = WORK_DIR
    directory.mkdir(parents=True, exist_ok=True)
    spawn = multiprocessing.get_context("spawn")
    rows = []
    for kind in ("xlsx", "pdf"):
        with spawn.Pool(1) as pool:
            seconds, cpu, size, before, peak = pool.apply(_one, (kind, stations, wards,
                                                                 str(directory)))
        rows.append((kind, seconds, cpu, size / 1024, before, peak))
    load = os.getloadavg()[0]
    print_table(f"Report files — {stations:,} stations in {wards:,} wards, a year "
                f"(load average {load:.1f} on {os.cpu_count()} CPUs)",
                ["file", "seconds", "CPU s", "KiB", "RSS before MB", "peak RSS MB"], rows)


if __name__ == "__main__":
    main()
