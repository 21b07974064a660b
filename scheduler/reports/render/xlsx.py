"""The activity report as an Excel workbook, streamed row by row (XlsxWriter's constant_memory).

Sheets: the totals ("Tổng hợp"), the wards one row each ("Phường, xã"), the stations one row
each ("Trạm"), then one sheet per ward with its figures and its stations. Numbers are numbers
under a number format (hours, h:mm, percentages), dates are dates; names people typed
(stations, wards, categories, an agent's reason) are written as text, never as a formula.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, BinaryIO

from xlsxwriter import Workbook

from scheduler.catalogue.names import Names
from scheduler.reports.render import words
from scheduler.reports.render.sheetnames import SheetNames
from scheduler.reports.render.sheets import Cell, Rows, Styles
from scheduler.reports.schemas import ActivityReport, Figures, StationFigures, WardFigures

TOTALS, WARDS, STATIONS = "Tổng hợp", "Phường, xã", "Trạm"
TITLE = "BÁO CÁO TÌNH HÌNH HOẠT ĐỘNG THÔNG TIN CƠ SỞ"
COMPARE = ("Chỉ tiêu", "Kỳ này", "Kỳ trước", "Thay đổi", "Thay đổi (%)")
# a figure's kind is its style; the style of its change from the previous period
CHANGE = {"count": "change_count", "hours": "change_hours", "share": "change_points"}


def write(report: ActivityReport, names: Names, out: BinaryIO) -> None:
    """Write the report as an XLSX workbook to a binary stream."""
    with Workbook(out, {"constant_memory": True}) as book:
        book.set_properties({"title": f"{TITLE} — {report.title}", "author": "wardcast"})
        styles = Styles(book)
        sheets = SheetNames()
        _totals(Rows(book.add_worksheet(sheets.claim(TOTALS)), styles), report, names)
        _wards(Rows(book.add_worksheet(sheets.claim(WARDS)), styles), report)
        _stations(Rows(book.add_worksheet(sheets.claim(STATIONS)), styles), report.stations)
        by_ward: dict[str, list[StationFigures]] = defaultdict(list)
        for station in report.stations:
            by_ward[station.ward].append(station)
        previous = words.previous_wards(report)
        for ward in report.wards:
            rows = Rows(book.add_worksheet(sheets.claim(ward.ward)), styles)
            _ward(rows, report, ward, previous.get(ward.ward), by_ward[ward.ward], names)


def _totals(rows: Rows, report: ActivityReport, names: Names) -> None:
    rows.columns([44, 16, 16, 14, 14, 18])
    rows.sheet.freeze_panes(1, 0)
    rows.line(Cell(TITLE, "title"))
    rows.line(Cell(report.title, "bold"))
    rows.line(Cell("Từ ngày", "label"), Cell(report.from_, "date"))
    rows.line(Cell("Đến ngày", "label"), Cell(report.to, "date"))
    earlier = report.previous
    rows.line(Cell("Kỳ trước", "label"), Cell(
        f"{words.day(earlier.from_)} – {words.day(earlier.to)}" if earlier else words.NONE))
    rows.line(Cell("Múi giờ", "label"), Cell(report.timezone))
    rows.line(Cell("Phường, xã", "label"),
              Cell(", ".join(report.wards_filter) if report.wards_filter else "Tất cả", "text"))
    rows.line(Cell("Lập lúc", "label"),
              Cell(words.moment(report.generated_at, report.timezone), "datetime"))
    rows.blank()
    _compare(rows, report.totals, earlier.totals if earlier else None,
             stations=(words.station_count(report.wards),
                       words.station_count(earlier.wards) if earlier else None))
    _breakdowns(rows, report.totals, earlier.totals if earlier else None, names)
    rows.done()


def _compare(rows: Rows, now: Figures, before: Figures | None,
             stations: tuple[int, int | None]) -> None:
    """Write the figures beside the previous period's and the change from them."""
    rows.line(*(Cell(head, "header") for head in COMPARE))
    rows.line(Cell("Số trạm", "label"), Cell(stations[0], "count"), Cell(stations[1], "count"),
              *_change(stations[0], stations[1], "count"))
    for measure in words.measures():
        current = measure.value(now)
        earlier = measure.value(before) if before else None
        rows.line(Cell(measure.label, "label"), Cell(current, measure.kind),
                  Cell(earlier, measure.kind), *_change(current, earlier, measure.kind))
    rows.blank()


def _change(current: float | None, earlier: float | None, kind: str) -> tuple[Cell, Cell]:
    if current is None or earlier is None:
        return Cell(None, CHANGE[kind]), Cell(None, "change_share")
    relative = None if kind == "share" else words.change(current, earlier)
    return Cell(current - earlier, CHANGE[kind]), Cell(relative, "change_share")


def _breakdowns(rows: Rows, now: Figures, before: Figures | None, names: Names) -> None:
    """Write on-air time by language, topic, category and relayed stream, and what was not
    played, why."""
    empty = Figures()
    before = before or empty
    for title, current, earlier, name in (
            ("Ngôn ngữ", now.by_language, before.by_language, names.language),
            ("Chủ đề", now.by_topic, before.by_topic, names.topic),
            ("Chuyên mục (của bản tin)", now.by_category, before.by_category, names.topic),
            ("Tiếp âm (nguồn)", now.by_stream, before.by_stream, str)):
        rows.line(Cell(title, "header"), Cell("Mã", "header"),
                  Cell("Giờ phát sóng", "header"), Cell("Thời lượng (giờ:phút)", "header"),
                  Cell("Tỷ lệ", "header"), Cell("Kỳ trước (giờ)", "header"))
        for label, code, seconds in words.by_amount(_union(current, earlier), name):
            rows.line(Cell(label, "text"), Cell(code, "text"),
                      Cell(words.hours(seconds), "hours"), Cell(seconds / 86400, "duration"),
                      Cell(seconds / now.on_air_seconds if now.on_air_seconds else None,
                           "share"),
                      Cell(words.hours(earlier[code]) if code in earlier else None, "hours"))
        rows.blank()
    rows.line(Cell("Không phát được (bị lỡ, lỗi) theo lý do", "header"), Cell("Mã", "header"),
              Cell("Số lượt", "header"), Cell("Kỳ trước", "header"))
    reasons = _union(now.not_played_by_reason, before.not_played_by_reason)
    for label, code, _ in words.by_amount(reasons, words.reason):
        rows.line(Cell(label, "text"), Cell(code, "text"),
                  Cell(now.not_played_by_reason.get(code, 0), "count"),
                  Cell(before.not_played_by_reason.get(code), "count"))
    rows.blank()


def _union(current: dict[str, Any], earlier: dict[str, Any]) -> dict[str, float]:
    """Every code of either period, keyed to this period's amount (0 if none)."""
    return {code: current.get(code, 0) for code in {**earlier, **current}}


def _wards(rows: Rows, report: ActivityReport) -> None:
    heads = ["Phường, xã", "Số trạm", *_measure_heads(), "Kỳ trước: giờ phát sóng",
             "Kỳ trước: tỷ lệ hoạt động"]
    rows.columns([28, 9, *[12] * (len(heads) - 2)])
    rows.header(heads)
    previous = words.previous_wards(report)
    for ward in report.wards:
        earlier = previous.get(ward.ward)
        rows.line(Cell(ward.ward, "text"), Cell(ward.stations, "count"), *_measure_cells(ward),
                  Cell(words.hours(earlier.on_air_seconds) if earlier else None, "hours"),
                  Cell(earlier.availability if earlier else None, "share"))
    rows.done(filter_width=len(heads))


def _stations(rows: Rows, stations: list[StationFigures]) -> None:
    rows.columns(station_widths())
    rows.header(station_heads())
    for station in stations:
        rows.line(*_station_cells(station))
    rows.done(filter_width=len(station_widths()))


def _ward(rows: Rows, report: ActivityReport, ward: WardFigures, earlier: WardFigures | None,
          stations: list[StationFigures], names: Names) -> None:
    rows.columns(station_widths())
    rows.sheet.freeze_panes(1, 0)
    rows.line(Cell(ward.ward, "title"))
    rows.line(Cell(f"{report.title} (từ {words.day(report.from_)} đến {words.day(report.to)})",
                   "bold"))
    rows.blank()
    _compare(rows, ward, earlier, stations=(ward.stations, earlier.stations if earlier else None))
    _breakdowns(rows, ward, earlier, names)
    rows.line(Cell(f"Các trạm của {ward.ward}", "bold"))
    rows.header(station_heads(), freeze=False)
    for station in stations:
        rows.line(*_station_cells(station))
    rows.done(filter_width=len(station_widths()))


def _measure_heads() -> list[str]:
    heads = []
    for measure in words.measures():
        heads.append(measure.label)
        if measure.clock:
            heads.append(f"{measure.label.removesuffix(' (giờ)')} (giờ:phút)")
    return heads


def _measure_cells(figures: Figures) -> list[Cell]:
    cells = []
    for measure in words.measures():
        cells.append(Cell(measure.value(figures), measure.kind))
        if measure.clock:
            cells.append(Cell((measure.value(figures) or 0.0) / 24, "duration"))
    return cells


def station_widths() -> list[int]:
    return [32, 24, 9, *[12] * len(_measure_heads()), 12, 17, 17, 18]


def station_heads() -> list[str]:
    return ["Tên trạm", "Phường, xã", "Mã trạm", *_measure_heads(), "Giờ trực tuyến",
            "Mất kết nối lâu nhất: từ", "Mất kết nối lâu nhất: đến", "Múi giờ của trạm"]


def _station_cells(station: StationFigures) -> list[Cell]:
    outage = station.longest_outage
    return [Cell(station.name, "text"), Cell(station.ward, "text"),
            Cell(station.station_id, "count"), *_measure_cells(station),
            Cell(words.hours(station.online_seconds), "hours"),
            Cell(words.moment(outage.start, station.timezone) if outage else None, "datetime"),
            Cell(words.moment(outage.end, station.timezone) if outage else None, "datetime"),
            Cell(station.timezone, "text")]
