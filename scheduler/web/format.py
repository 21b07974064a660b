"""Dates, times, durations and loudness the way people at a Vietnamese ward office read them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, localcontext
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent

from scheduler.errors import InvalidInput
from scheduler.instants import check_day, said_at
from scheduler.web.i18n import N_, gettext

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


ZONED = N_("%(time)s (%(place)s time)")


def zoned(text: str, *, zone: str, city: str, lang: str) -> str:
    """Say whose clock a time is on when it is not the city's: "06:00 … (giờ Bangkok)"."""
    if zone == city or text == "—":
        return text
    place = zone.rsplit("/", 1)[-1].replace("_", " ")
    return gettext(lang, ZONED) % {"time": text, "place": place}


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


def minute(moment: datetime | None, *, zone: str) -> str:
    """Format an instant to the minute in a zone: "11:59 02/06/2026"."""
    return "—" if moment is None else said_at(moment, zone)


def number(value: float, *, lang: str, decimals: int = 0) -> str:
    """Write a number with the reader's separators (1.234,5 in Vietnamese), rounded half up."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    with localcontext(rounding=ROUND_HALF_UP):  # Babel rounds as the context does
        return format_decimal(value, format=pattern, locale=lang)


def percent(share: float | None, *, lang: str) -> str:
    """Write a share of 0..1 as a percentage: "99,5%"."""
    if share is None:
        return "—"
    with localcontext(rounding=ROUND_HALF_UP):
        return format_percent(share, format="#,##0.0%", locale=lang)


HOURS = N_("%(n)s h")
MINUTES = N_("%(n)s min")
SECONDS = N_("%(n)s s")


def hours_minutes(seconds: float, *, lang: str) -> str:
    """Write a time on air: "1.234 giờ 5 phút"; under an hour "12 phút 30 giây"."""
    whole = int(seconds + 0.5)
    if whole >= 3600:
        hours, minutes = divmod((whole + 30) // 60, 60)
        parts = [(hours, HOURS), (minutes, MINUTES)]
    else:
        parts = [(whole // 60, MINUTES), (whole % 60, SECONDS)]
    shown = [gettext(lang, unit) % {"n": number(amount, lang=lang)}
             for amount, unit in parts if amount]
    return " ".join(shown) or gettext(lang, MINUTES) % {"n": 0}


def level(value: float | None, *, lang: str, unit: str = "LUFS") -> str:
    """Format a level with the language's decimal separator ("-16,0 LUFS" in vi)."""
    if value is None:
        return "—"
    text = f"{value:.1f}"
    return f"{text.replace('.', ',') if lang == 'vi' else text} {unit}"


def day_input(value: str, *, field: str) -> date | None:
    """Read a `<input type="date">` value (YYYY-MM-DD; empty: none), or refuse it."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value[:10])
    except ValueError as exc:
        raise InvalidInput(f"Ngày không hợp lệ ở trường {field} (dd/mm/yyyy) — invalid date "
                           f"in {field}", field=field) from exc
    return check_day(day, field=field)


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
