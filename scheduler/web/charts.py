"""The report page's bar charts, drawn on the server as inline SVG (templates/reports/chart.html):
no script, a title and a description for screen readers, every name and number written out.

Bars are horizontal, one under another, so that long Vietnamese names fit a phone's width.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.reports.schemas import ActivityReport
from scheduler.web import i18n
from scheduler.web.i18n import N_
from scheduler.web.reportview import Reader

MAX_BARS = 40  # past this a chart keeps the first (the tables and files hold every one)
LOW_AVAILABILITY = 0.9  # a station under this share of the period online is drawn in red
BAR_SPACE = 70.0  # % of the width the longest bar takes: its number is written after it
ROW_HEIGHT = 44  # px: the name on one line, the bar and its number on the next


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as people read it
    low: bool = False  # under the threshold a chart marks


@dataclass(frozen=True)
class Chart:
    key: str  # the element's id
    title: str
    description: str
    bars: tuple[Bar, ...]
    total: int  # how many bars there were before MAX_BARS
    note: str = ""

    row_height = ROW_HEIGHT

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * ROW_HEIGHT

    def width(self, bar: Bar) -> float:
        """The bar's length in % of the chart's width."""
        longest = max((b.value for b in self.bars), default=0.0)
        return round(BAR_SPACE * bar.value / longest, 2) if longest > 0 else 0.0


def _chart(key: str, title: str, bars: list[Bar], *, reader: Reader, note: str = "") -> Chart:
    shown = bars[:MAX_BARS]
    described = "; ".join(f"{bar.label}: {bar.text}" for bar in shown)
    if len(bars) > len(shown):
        note = " ".join(filter(None, [note, i18n.gettext(reader.lang, N_(
            "The first %(shown)s of %(total)s; the tables below list them all.")) % {
                "shown": len(shown), "total": len(bars)}]))
    return Chart(key, title, described or i18n.gettext(reader.lang, N_("Nothing to show.")),
                 tuple(shown), len(bars), note)


def on_air_by_ward(report: ActivityReport, reader: Reader) -> Chart:
    """Time on air of each ward, the least first (those a supervisor asks about)."""
    wards = sorted(report.wards, key=lambda ward: (ward.on_air_seconds, ward.ward))
    return _chart("chart-wards", i18n.gettext(reader.lang, N_("Time on air by ward")),
                  [Bar(w.ward, w.on_air_seconds, reader.written(w.on_air_seconds, "duration"))
                   for w in wards], reader=reader)


def by_language(report: ActivityReport, reader: Reader) -> Chart:
    return _chart("chart-languages", i18n.gettext(reader.lang, N_("Time on air by language")),
                  [Bar(name, seconds, text)
                   for name, text, seconds in reader.languages(report.totals)], reader=reader)


def by_topic(report: ActivityReport, reader: Reader) -> Chart:
    return _chart("chart-topics", i18n.gettext(reader.lang, N_("Time on air by topic")),
                  [Bar(name, seconds, text)
                   for name, text, seconds in reader.topics(report.totals)], reader=reader)


def availability(report: ActivityReport, reader: Reader) -> Chart:
    """Each station's share of the period online, the lowest first, red under the threshold."""
    measured = [s for s in report.stations if s.availability is not None]
    ordered = sorted(measured, key=lambda s: (s.availability or 0.0, s.name))
    note = i18n.gettext(reader.lang, N_("In red: online less than %(share)s of the time.")) % {
        "share": reader.written(LOW_AVAILABILITY, "share")}
    return _chart("chart-availability",
                  i18n.gettext(reader.lang, N_("Availability by station")),
                  [Bar(s.name, s.availability or 0.0, reader.written(s.availability, "share"),
                       low=(s.availability or 0.0) < LOW_AVAILABILITY) for s in ordered],
                  reader=reader, note=note)


def every(report: ActivityReport, reader: Reader) -> list[Chart]:
    """The page's charts, in the order it shows them."""
    return [on_air_by_ward(report, reader), by_language(report, reader),
            by_topic(report, reader), availability(report, reader)]
