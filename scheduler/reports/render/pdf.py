"""The activity report as a Vietnamese administrative report (PDF, A4), laid out as Decree
30/2020/NĐ-CP asks: national title and motto, issuing body, number, place and date, the title,
sections I-V, recipients and the signature block; WeasyPrint from HTML and CSS, fonts embedded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from jinja2 import Environment, PackageLoader, select_autoescape

from scheduler.catalogue.names import Names
from scheduler.config import Settings, get_settings, lines
from scheduler.reports import figures
from scheduler.reports.render import tables, words
from scheduler.reports.schemas import ActivityReport


@dataclass(frozen=True)
class Letterhead:
    """Who issues the report, where, who signs it and who receives it (settings)."""

    issuer: tuple[str, ...]  # the bodies above the issuing body, then the issuing body
    symbol: str  # Số: .../BC-<symbol>
    place: str  # empty: dots, to fill in by hand
    signer_title: tuple[str, ...]
    signer: str  # empty: written by hand
    recipients: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> Letterhead:
        return cls(issuer=tuple(lines(settings.report_issuer)), symbol=settings.report_symbol,
                   place=settings.report_place.strip(),
                   signer_title=tuple(lines(settings.report_signer_title)),
                   signer=settings.report_signer.strip(),
                   recipients=tuple(lines(settings.report_recipients)))


def render(report: ActivityReport, names: Names, *, settings: Settings | None = None) -> bytes:
    """Return the report as a PDF document (letterhead and length from the settings)."""
    settings = settings or get_settings()
    stations, shortened = figures.most_in_need(report.stations,
                                               settings.report_pdf_max_stations)
    html = _environment().get_template("activity_report.html").render(
        report=report, letterhead=Letterhead.from_settings(settings), words=words,
        subject=_subject(report), summary=tables.summary(report),
        figures=tables.figures(report), wards=tables.wards(report),
        stations=tables.stations(stations), stations_total=len(report.stations),
        shortened=shortened, languages=tables.amounts(report, "by_language", names.language),
        topics=tables.amounts(report, "by_topic", names.topic),
        streams=tables.amounts(report, "by_stream", str),
        reasons=tables.reasons(report))
    # imported here: WeasyPrint loads Pango when imported, and a server without Pango should
    # still start (and answer everything but a PDF)
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except OSError as exc:
        raise RuntimeError(f"PDF reports need Pango (scripts/system-deps.sh): {exc}") from exc
    # names are escaped into text; and should markup ever slip through, nothing is fetched
    return bytes(HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf())


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=PackageLoader("scheduler.reports.render", "templates"),
                       autoescape=select_autoescape(["html"]), trim_blocks=True,
                       lstrip_blocks=True)


def _subject(report: ActivityReport) -> str:
    """The title's second line: "Tình hình hoạt động thông tin cơ sở 6 tháng đầu năm 2026"."""
    title = report.title[:1].lower() + report.title[1:]
    return f"Tình hình hoạt động thông tin cơ sở {title}"
