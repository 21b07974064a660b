"""Dates, times, durations and loudness the way people at a Vietnamese ward office read them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

DATETIME_PATTERN = "HH:mm EEEE, dd/MM/yyyy"


def local(moment: datetime, zone: str) -> datetime:
    """Convert a UTC instant to a station's zone."""
    return moment.astimezone(ZoneInfo(zone))


def when(moment: datetime | None, *, zone: str, lang: str) -> str:
    """Format an instant as e.g. "06:00 Thứ Hai, 30/11/2026" in the given zone."""
    if moment is None:
        return "—"
    return format_datetime(local(moment, zone), DATETIME_PATTERN, locale=lang)


def short(moment: datetime | None, *, zone: str, lang: str) -> str:
    """Format an instant compactly for tables: "06:00:05 30/11/2026"."""
    if moment is None:
        return "—"
    return format_datetime(local(moment, zone), "HH:mm:ss dd/MM/yyyy", locale=lang)


STAMP_FORMAT = "%d/%m/%Y %H:%M:%S"


def stamp(moment: datetime | None, *, zone: str) -> str:
    """Format an instant for files people read: "30/11/2026 06:00:05" in the zone."""
    return "" if moment is None else local(moment, zone).strftime(STAMP_FORMAT)


def duration(ms: int | None) -> str:
    """Format a duration in milliseconds as m:ss (or h:mm:ss)."""
    if ms is None:
        return "—"
    seconds = ms // 1000  # whole seconds, as audio players show it
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def level(value: float | None, *, lang: str, unit: str = "LUFS") -> str:
    """Format a level with the language's decimal separator ("-16,0 LUFS" in vi)."""
    if value is None:
        return "—"
    text = f"{value:.1f}"
    return f"{text.replace('.', ',') if lang == 'vi' else text} {unit}"


def utc_input(value: str | None, *, zone: str) -> datetime | None:
    """Read a `<input type="date">` or `datetime-local` value given in a zone, as UTC."""
    if not value:
        return None
    naive = datetime.fromisoformat(value)
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def in_language(message: str, *, lang: str) -> str:
    """Keep the part of a "Vietnamese — English" domain message that suits the reader."""
    if " — " not in message:
        return message
    vietnamese, english = message.split(" — ", 1)
    return vietnamese if lang == "vi" else english
