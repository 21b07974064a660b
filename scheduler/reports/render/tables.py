"""The PDF report's sentences and table rows, as the text a reader sees (1.234,5 — 99,5%)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from scheduler.reports.render import words
from scheduler.reports.render.words import number, share
from scheduler.reports.schemas import ActivityReport, Figures, StationFigures, WardFigures


@dataclass(frozen=True)
class FigureRow:
    label: str
    now: str
    before: str
    change: str


def summary(report: ActivityReport) -> list[str]:
    """Section I's paragraphs: what was planned, what became of it, and the time on air."""
    f = report.totals
    played = f"{number(f.played)} lượt"
    if f.planned:
        played += f" ({share(f.played / f.planned)})"
    open_ = f", {number(f.open)} lượt chưa kết thúc" if f.open else ""
    text = [
        f"Trong kỳ báo cáo (từ ngày {words.day(report.from_)} đến ngày {words.day(report.to)}),"
        f" {number(words.station_count(report.wards))} trạm truyền thanh của"
        f" {number(len(report.wards))} phường, xã có {number(f.planned)} lượt phát theo kế"
        f" hoạch; đã phát {played}, bị ngắt {number(f.interrupted)} lượt, bị lỡ"
        f" {number(f.missed)} lượt, lỗi {number(f.failed)} lượt, bỏ qua {number(f.skipped)}"
        f" lượt{open_}; {number(f.cancelled)} lượt đã hủy.",
        f"Tổng thời lượng phát sóng {number(words.hours(f.on_air_seconds), 1)} giờ với"
        f" {number(f.bulletins)} bản tin; {number(f.emergencies)} lượt phát khẩn cấp."
        f" Tỷ lệ hoạt động bình quân của các trạm: {share(f.availability)}.",
    ]
    if report.previous:
        before = report.previous
        text.append(f"So sánh với kỳ trước (từ ngày {words.day(before.from_)} đến ngày"
                    f" {words.day(before.to)}) như bảng sau.")
    return text


def figures(report: ActivityReport) -> list[FigureRow]:
    """Section I's table: each figure of the city, the previous period's, and the change."""
    before = report.previous.totals if report.previous else None
    rows = [_row("Số trạm", words.station_count(report.wards),
                 words.station_count(report.previous.wards) if report.previous else None,
                 "count")]
    for measure in words.measures():
        rows.append(_row(measure.label, measure.value(report.totals),
                         measure.value(before) if before else None, measure.kind))
    return rows


def _row(label: str, now: float | None, before: float | None, kind: words.Kind) -> FigureRow:
    decimals = 1 if kind == "hours" else 0
    if kind == "share":
        return FigureRow(label, share(now), share(before), _points(now, before))
    shown = [words.NONE if value is None else number(value, decimals) for value in (now, before)]
    change = ""
    if now is not None and before is not None:
        relative = words.change(now, before)
        change = words.signed(now - before, decimals) + (
            f" ({words.signed(relative * 100, 1)}%)" if relative is not None else "")
    return FigureRow(label, shown[0], shown[1], change)


def _points(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return ""
    return f"{words.signed((now - before) * 100, 1)} điểm %"


def wards(report: ActivityReport) -> list[tuple[str, ...]]:
    """Section II's rows, one per ward, then the city's total."""
    rows = [(str(index), ward.ward, *_ward_cells(ward, ward.stations))
            for index, ward in enumerate(report.wards, start=1)]
    rows.append(("", "Tổng cộng", *_ward_cells(report.totals,
                                                 words.station_count(report.wards))))
    return rows


def _ward_cells(f: Figures | WardFigures, stations: int) -> tuple[str, ...]:
    return (number(stations), number(f.planned), number(f.played), number(f.interrupted),
            f"{number(f.missed)} / {number(f.failed)}", number(words.hours(f.on_air_seconds), 1),
            number(f.bulletins), number(f.emergencies), share(f.availability))


def stations(shown: list[StationFigures]) -> list[tuple[str, ...]]:
    """Section III's rows: name, ward, planned, played, missed / failed, hours, availability,
    longest outage."""
    return [(str(index), s.name, s.ward, number(s.planned), number(s.played),
             f"{number(s.missed)} / {number(s.failed)}", number(words.hours(s.on_air_seconds), 1),
             share(s.availability), _outage(s))
            for index, s in enumerate(shown, start=1)]


def _outage(station: StationFigures) -> str:
    outage = station.longest_outage
    if outage is None:
        return words.NONE
    since = words.moment(outage.start, station.timezone)
    return f"{words.lasting(outage.seconds)} (từ {since:%d/%m/%Y})"


Breakdown = Literal["by_language", "by_topic", "by_category", "by_stream"]


def amounts(report: ActivityReport, field: Breakdown,
            name: Callable[[str], str]) -> list[tuple[str, ...]]:
    """Section IV's rows: on-air hours by language or topic, share, the previous period's."""
    now: dict[str, float] = getattr(report.totals, field)
    before: dict[str, float] = getattr(report.previous.totals, field) if report.previous else {}
    total = report.totals.on_air_seconds
    keys = {code: now.get(code, 0.0) for code in {**before, **now}}
    return [(str(index), label, number(words.hours(seconds), 1),
             share(seconds / total) if total else words.NONE,
             number(words.hours(before[code]), 1) if code in before else words.NONE)
            for index, (label, code, seconds) in enumerate(words.by_amount(keys, name), 1)]


def reasons(report: ActivityReport) -> list[tuple[str, ...]]:
    """Section V's rows: missed and failed playbacks by reason, in Vietnamese."""
    counts = report.totals.not_played_by_reason
    total = sum(counts.values())
    return [(str(index), label, number(count), share(count / total))
            for index, (label, _, count) in enumerate(words.by_amount(counts, words.reason), 1)]
