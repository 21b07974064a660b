"""The files a report can be had as, by the name `format=` and `--format` take.

JSON and CSV are here; XLSX and PDF join them as one entry each, e.g.
``"xlsx": Format(XLSX_TYPE, "xlsx", xlsx.write)``: the route, the command and the benchmark
offer whatever is in FORMATS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from scheduler.catalogue.names import Names, built_in
from scheduler.reports import csvfile
from scheduler.reports.schemas import ActivityReport

Writer = Callable[[ActivityReport, Names, BinaryIO], None]


@dataclass(frozen=True)
class Format:
    media_type: str
    extension: str
    write: Writer


def _json(report: ActivityReport, _names: Names, out: BinaryIO) -> None:
    out.write(report.model_dump_json(by_alias=True).encode())


FORMATS: dict[str, Format] = {
    "json": Format("application/json", "json", _json),
    "csv": Format("text/csv; charset=utf-8", "csv", csvfile.write),
}


def names() -> Names:
    """The names files print languages and topics with (Vietnamese)."""
    return built_in("vi")


def file_name(report: ActivityReport, extension: str) -> str:
    """Name a report's file after its period: bao-cao-hoat-dong_2026-H1.pdf."""
    span = report.period or f"{report.from_:%Y%m%d}-{report.to:%Y%m%d}"
    wards = "" if report.wards_filter is None else f"_{len(report.wards_filter)}-phuong"
    return f"bao-cao-hoat-dong_{span}{wards}.{extension}"
