"""The files a report can be had as, by the name `format=` and `--format` take: JSON, CSV,
XLSX (streamed) and PDF (a Vietnamese administrative report)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy.orm import Session

from scheduler.catalogue import service as catalogue
from scheduler.catalogue.names import Names
from scheduler.config import Settings
from scheduler.errors import InvalidInput
from scheduler.reports import csvfile
from scheduler.reports.render import pdf, xlsx
from scheduler.reports.schemas import ActivityReport
from wardcast.csvcells import csv_media_type

Writer = Callable[[ActivityReport, Names, BinaryIO, Settings], None]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Format:
    media_type: str
    extension: str
    write: Writer


def _json(report: ActivityReport, _names: Names, out: BinaryIO, _settings: Settings) -> None:
    out.write(report.model_dump_json(by_alias=True).encode())


def _csv(report: ActivityReport, names: Names, out: BinaryIO, _settings: Settings) -> None:
    csvfile.write(report, names, out)


def _xlsx(report: ActivityReport, names: Names, out: BinaryIO, _settings: Settings) -> None:
    xlsx.write(report, names, out)


def _pdf(report: ActivityReport, names: Names, out: BinaryIO, settings: Settings) -> None:
    out.write(pdf.render(report, names, settings=settings))


FORMATS: dict[str, Format] = {
    "json": Format("application/json", "json", _json),
    "csv": Format(csv_media_type(bom=True), "csv", _csv),
    "xlsx": Format(XLSX_TYPE, "xlsx", _xlsx),
    "pdf": Format("application/pdf", "pdf", _pdf),
}


def pick(name: str) -> Format:
    """Return the format `format=` names, or raise InvalidInput listing those offered."""
    if name not in FORMATS:
        offered = ", ".join(FORMATS)
        raise InvalidInput(f"Định dạng không hỗ trợ: {name!r} (có: {offered}) — unsupported "
                           f"format (offered: {offered})", field="format")
    return FORMATS[name]


def names(session: Session) -> Names:
    """The names files print languages, topics and sources with (Vietnamese: the files are
    the city's report), as an admin keeps them."""
    return catalogue.names(session=session, lang="vi")


def file_name(report: ActivityReport, extension: str) -> str:
    """Name a report's file after its period: bao-cao-hoat-dong_2026-H1.pdf."""
    span = report.period or f"{report.from_:%Y%m%d}-{report.to:%Y%m%d}"
    wards = "" if report.wards_filter is None else f"_{len(report.wards_filter)}-phuong"
    return f"bao-cao-hoat-dong_{span}{wards}.{extension}"
