"""The activity report as one CSV table: a row per station, each ward's subtotal, the city.

UTF-8 with a BOM (Excel then reads the Vietnamese right), Vietnamese headers, numbers as
numbers, names and times as people read them (local time, dd/mm/yyyy); every text cell goes
through csvcells.safe_row, since station and ward names are typed by people.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo

from scheduler.catalogue.names import Names
from scheduler.reports.schemas import ActivityReport, Figures, StationFigures, WardFigures
from scheduler.web import i18n
from scheduler.web.reasons import BY_CODE
from wardcast.csvcells import safe_row

LEVELS = {"city": "Thành phố", "ward": "Phường", "station": "Trạm"}
COUNTS = (("planned", "Kế hoạch"), ("played", "Đã phát"), ("interrupted", "Bị ngắt"),
          ("missed", "Bị lỡ"), ("failed", "Lỗi"), ("skipped", "Bỏ qua"),
          ("cancelled", "Đã hủy"), ("open", "Chưa kết thúc"))
HEAD = ("Cấp", "Phường", "Trạm", "Mã trạm", *(label for _, label in COUNTS),
        "Thời lượng phát (giây)", "Số bản tin", "Phát khẩn cấp", "Tỷ lệ hoạt động (%)",
        "Thời gian trực tuyến (giờ)", "Mất kết nối lâu nhất (giờ)", "Mất kết nối từ",
        "Mất kết nối đến")


def write(report: ActivityReport, names: Names, out: BinaryIO) -> None:
    """Write the report as CSV (UTF-8 with BOM) to a binary file."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    columns = _Columns.of(report.totals)
    writer.writerow(safe_row([*HEAD, *columns.head(names)]))
    for row in _rows(report, columns):
        writer.writerow(safe_row(row))
    out.write(text.getvalue().encode("utf-8-sig"))


class _Columns:
    """The columns that depend on the data: languages, categories, reasons not played."""

    def __init__(self, languages: list[str], categories: list[str], reasons: list[str],
                 streams: list[str]):
        self.languages, self.categories, self.reasons = languages, categories, reasons
        self.streams = streams

    @classmethod
    def of(cls, totals: Figures) -> _Columns:
        def by_size(values: dict[str, float] | dict[str, int]) -> list[str]:
            return sorted(values, key=lambda key: (-values[key], key))

        return cls(by_size(totals.by_language), by_size(totals.by_category),
                   by_size(totals.not_played_by_reason), by_size(totals.by_stream))

    def head(self, names: Names) -> list[str]:
        return ([f"Phát bằng {names.language(code)} (giây)" for code in self.languages]
                + [f"Thể loại: {names.topic(code)} (giây)" for code in self.categories]
                + [f"Tiếp âm: {name} (giây)" for name in self.streams]
                + [f"Không phát: {_reason(code)}" for code in self.reasons])

    def cells(self, figures: Figures) -> list[object]:
        cells: list[object] = [round(figures.by_language.get(code, 0.0), 1)
                               for code in self.languages]
        cells += [round(figures.by_category.get(code, 0.0), 1) for code in self.categories]
        cells += [round(figures.by_stream.get(name, 0.0), 1) for name in self.streams]
        return cells + [figures.not_played_by_reason.get(code, 0) for code in self.reasons]


def _reason(code: str) -> str:
    if code in BY_CODE:
        return f"{i18n.gettext('vi', BY_CODE[code])} ({code})"
    return code or "không rõ"


def _rows(report: ActivityReport, columns: _Columns) -> Iterator[list[object]]:
    by_ward: dict[str, list[StationFigures]] = {}
    for station in report.stations:
        by_ward.setdefault(station.ward, []).append(station)
    zone = report.timezone
    for ward in report.wards:
        for station in by_ward.get(ward.ward, []):
            yield _row("station", ward.ward, station.name, station.station_id, station,
                       columns, station.timezone)
        yield _row("ward", ward.ward, "", "", ward, columns, zone)
    yield _row("city", "", "", "", report.totals, columns, zone)


def _row(level: str, ward: str, station: str, station_id: int | str,
         figures: Figures | WardFigures, columns: _Columns, zone: str) -> list[object]:
    outage = figures.longest_outage
    return [LEVELS[level], ward, station, station_id,
            *(getattr(figures, name) for name, _ in COUNTS),
            round(figures.on_air_seconds, 1), figures.bulletins, figures.emergencies,
            "" if figures.availability is None else round(figures.availability * 100, 2),
            round(figures.online_seconds / 3600, 2),
            "" if outage is None else round(outage.seconds / 3600, 2),
            "" if outage is None else _local(outage.start, zone),
            "" if outage is None else _local(outage.end, zone),
            *columns.cells(figures)]


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%d/%m/%Y %H:%M")
