"""What the report files print: Vietnamese labels for figures and reasons, numbers and dates
the way a Vietnamese office writes them (1.234,5 — 99,5% — 14/06/2026)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from scheduler.reports.schemas import ActivityReport, Figures, WardFigures
from scheduler.web import format as fmt
from scheduler.web import i18n
from scheduler.web import reasons as reason_labels

LANG = "vi"  # an administrative report is filed in Vietnamese
NONE = "—"

Kind = Literal["count", "hours", "share"]


@dataclass(frozen=True)
class Measure:
    """One figure of a Figures, with the words a report gives it."""

    label: str
    kind: Kind
    value: Callable[[Figures], float | None]
    clock: bool = False  # also shown as a duration (h:mm) in a workbook


def _outcome(status: str) -> str:
    return i18n.gettext(LANG, status)  # "played" -> "Đã phát", as the pages say it


@lru_cache(maxsize=1)
def measures() -> tuple[Measure, ...]:
    """The figures every report table lists, in order (hours and shares as numbers)."""
    return (
        Measure("Lượt phát theo kế hoạch", "count", lambda f: f.planned),
        Measure(_outcome("played"), "count", lambda f: f.played),
        Measure(_outcome("interrupted"), "count", lambda f: f.interrupted),
        Measure(_outcome("missed"), "count", lambda f: f.missed),
        Measure(_outcome("failed"), "count", lambda f: f.failed),
        Measure(_outcome("skipped"), "count", lambda f: f.skipped),
        Measure(_outcome("cancelled"), "count", lambda f: f.cancelled),
        Measure("Chưa kết thúc", "count", lambda f: f.open),
        Measure("Thời lượng phát sóng (giờ)", "hours", lambda f: hours(f.on_air_seconds),
                clock=True),
        Measure("Số bản tin đã phát", "count", lambda f: f.bulletins),
        Measure("Lượt phát khẩn cấp", "count", lambda f: f.emergencies),
        Measure("Tỷ lệ hoạt động của trạm", "share", lambda f: f.availability),
        Measure("Mất kết nối lâu nhất (giờ)", "hours", lambda f: hours(
            f.longest_outage.seconds) if f.longest_outage else None),
    )


def hours(seconds: float) -> float:
    return seconds / 3600


def number(value: float, decimals: int = 0) -> str:
    """Write a number with Vietnamese separators, rounded half up: 1.234,5."""
    return fmt.number(value, lang=LANG, decimals=decimals)


def signed(value: float, decimals: int = 0) -> str:
    """Write a change: +1.234,5, -3, 0."""
    text = number(value, decimals)
    return text if text.startswith("-") or text.strip("0,") == "" else f"+{text}"


def share(value: float | None) -> str:
    """Write a share of 0..1 as a percentage: 99,5%."""
    return NONE if value is None else fmt.percent(value, lang=LANG)


def change(current: float | None, previous: float | None) -> float | None:
    """Return the relative change from the previous figure (None: nothing to compare with)."""
    if current is None or not previous:
        return None
    return (current - previous) / previous


def day(value: date) -> str:
    return f"{value:%d/%m/%Y}"


def moment(value: datetime, zone: str) -> datetime:
    """Return an instant as a wall-clock time in a zone (no zone attached: for a sheet)."""
    return value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def stamp(value: datetime, zone: str) -> str:
    return f"{moment(value, zone):%H:%M %d/%m/%Y}"


def decree_date(value: date) -> str:
    """Write "ngày 05 tháng 02 năm 2026" as Decree 30/2020/NĐ-CP asks: a 0 before a day under
    10 and a month under 3."""
    month = f"{value.month:02d}" if value.month < 3 else str(value.month)
    return f"ngày {value.day:02d} tháng {month} năm {value.year}"


def lasting(seconds: float) -> str:
    """Write a long duration in words: "2 ngày 3 giờ 15 phút", "45 phút"."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "dưới 1 phút"
    days, rest = divmod(minutes, 24 * 60)
    parts = [(days, "ngày"), *zip(divmod(rest, 60), ("giờ", "phút"), strict=True)]
    return " ".join(f"{amount} {unit}" for amount, unit in parts if amount)


def reason(key: str) -> str:
    """Say in Vietnamese why playbacks were not played, from their grouped reason code."""
    return reason_labels.grouped(key, lang=LANG)


def by_amount(amounts: Mapping[str, float],
              name: Callable[[str], str]) -> list[tuple[str, str, float]]:
    """Return (name, code, amount) rows, the largest first."""
    rows = [(name(code), code, amount) for code, amount in amounts.items()]
    return sorted(rows, key=lambda row: (-row[2], row[0]))


def previous_wards(report: ActivityReport) -> dict[str, WardFigures]:
    """The previous period's figures of each ward, by ward."""
    return {ward.ward: ward for ward in report.previous.wards} if report.previous else {}


def station_count(wards: list[WardFigures]) -> int:
    return sum(ward.stations for ward in wards)
