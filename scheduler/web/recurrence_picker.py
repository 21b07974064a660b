"""The timetable form's recurrence picker, as a person says it: days of the week, times of day.

"Thứ Hai–Thứ Sáu, 06:00 và 17:00" becomes one RRULE (BYDAY, BYHOUR, BYMINUTE and, when the
times do not share their minutes, BYSETPOS to pick them out of the hour × minute grid), and a
stored rule is read back into the picker and said in words; the raw rule is never shown but
for a custom one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from babel.dates import get_day_names

from scheduler.errors import InvalidInput
from scheduler.instants import check_day
from scheduler.web import i18n
from scheduler.web.i18n import N_

# RFC 5545 weekday codes, Monday first (as Babel numbers its day names)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
REPEATS = {"once": N_("Once"), "weekly": N_("Every week on chosen days"),
           "monthly": N_("Every month"), "custom": N_("Custom rule (RRULE)")}
# quick picks of days, as the clerk says them
PRESETS = {"all": (N_("Every day"), WEEKDAYS), "workdays": (N_("Monday–Friday"), WEEKDAYS[:5]),
           "weekend": (N_("Weekend"), WEEKDAYS[5:])}
MAX_TIMES = 12
EVERY_DAY = N_("Every day")
ON_DAY = N_("On %(day)s")
MONTHLY_ON = N_("Every month on day %(n)s")
CUSTOM = N_("By a custom rule")
TIMES = N_("%(n)s times")
AT = N_("at %(times)s")
FROM_TO = N_("from %(start)s to %(until)s")
FROM = N_("from %(start)s")
AND = N_("%(items)s and %(last)s")
BAD_TIME = N_("“%(value)s” is not a time: write hours and minutes on the 24-hour clock, "
              "e.g. 06:00 or 17:30.")
NO_TIME = N_("Enter at least one time, e.g. 06:00, or several: 06:00 và 17:00.")
TOO_MANY_TIMES = N_("At most %(n)s times a day.")
BAD_DAY = N_("“%(value)s” is not a date: write it as dd/mm/yyyy, e.g. %(example)s.")
NO_DAY = N_("Enter the first day as dd/mm/yyyy.")

_TIME = re.compile(r"^(\d{1,2})(?:[:hHgG.](\d{2})?)?$")
_SPLIT = re.compile(r"\s*(?:,|;|/|\+|&|\bvà\b|\band\b|\s)\s*", re.IGNORECASE)
_DAY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ALLOWED = {"FREQ", "BYDAY", "BYHOUR", "BYMINUTE", "BYSETPOS", "COUNT"}


class FormValue(InvalidInput):
    """A value of the form that cannot be read; said in the reader's language."""

    def __init__(self, message: str, *, field: str, **params: object) -> None:
        self.message, self.params = message, {k: str(v) for k, v in params.items()}
        super().__init__(message % self.params, field=field)

    def said(self, lang: str) -> str:
        return i18n.gettext(lang, self.message) % self.params


@dataclass
class Choice:
    """A rule as the picker shows it; times empty means: the start's time only."""

    repeat: str
    weekdays: list[str] = field(default_factory=list)
    times: list[time] = field(default_factory=list)
    custom: str = ""


def parse_times(text: str) -> list[time]:
    """Read times as typed ("06:00 và 17:00", "6h, 17h30"): sorted, each once."""
    found: set[time] = set()
    for word in (w for w in _SPLIT.split(text.strip()) if w):
        match = _TIME.match(word)
        hour, minute = (int(match.group(1)), int(match.group(2) or 0)) if match else (99, 0)
        if hour > 23 or minute > 59:
            raise FormValue(BAD_TIME, field="at", value=word)
        found.add(time(hour, minute))
    if not found:
        raise FormValue(NO_TIME, field="at")
    if len(found) > MAX_TIMES:
        raise FormValue(TOO_MANY_TIMES, field="at", n=MAX_TIMES)
    return sorted(found)


def parse_day(text: str, *, field: str, required: bool = True) -> date | None:
    """Read a day typed as dd/mm/yyyy (or d/m/yyyy, or yyyy-mm-dd), whatever the browser."""
    value = text.strip()
    if not value:
        if required:
            raise FormValue(NO_DAY, field=field)
        return None
    match = _DAY.match(value)
    try:
        day = (date(int(match.group(3)), int(match.group(2)), int(match.group(1))) if match
               else date.fromisoformat(value))
    except ValueError as exc:
        raise FormValue(BAD_DAY, field=field, value=value, example="07/12/2026") from exc
    return check_day(day, field=field)


def show_day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def show_times(times: list[time]) -> str:
    return " và ".join(t.strftime("%H:%M") for t in times)


def weekday_names(lang: str) -> list[tuple[str, str]]:
    """The weekday codes with their names in a language, Monday first ("Thứ Hai" …)."""
    names = get_day_names("wide", locale=lang)
    return [(code, str(names[index])) for index, code in enumerate(WEEKDAYS)]


def _clock(times: list[time]) -> tuple[str, bool]:
    """The BYHOUR/BYMINUTE(/BYSETPOS) parts for these times; tell whether BYSETPOS is used."""
    hours = sorted({t.hour for t in times})
    minutes = sorted({t.minute for t in times})
    text = (f"BYHOUR={','.join(map(str, hours))};"
            f"BYMINUTE={','.join(map(str, minutes))}")
    grid = [time(h, m) for h in hours for m in minutes]
    if len(grid) == len(times):
        return text, False
    positions = [str(grid.index(t) + 1) for t in times]
    return f"{text};BYSETPOS={','.join(positions)}", True


def rule_for(*, repeat: str, weekdays: list[str], times: list[time], custom: str,
             start_weekday: int) -> str | None:
    """Write the RRULE for the picker's choice (None: play once, at one time)."""
    several = len(times) > 1
    clock, picked = _clock(times) if several else ("", False)
    if repeat == "custom":
        return custom.strip() or None
    if repeat == "once":
        return f"FREQ=DAILY;COUNT={len(times)};{clock}" if several else None
    if repeat == "monthly":
        return "FREQ=MONTHLY" + (f";{clock}" if several else "")
    chosen = [code for code in WEEKDAYS if code in weekdays] or [WEEKDAYS[start_weekday]]
    if len(chosen) == len(WEEKDAYS):
        base = "FREQ=DAILY"
    else:  # BYSETPOS counts within a period: a day's, so the days limit a daily rule
        base = f"FREQ={'DAILY' if picked else 'WEEKLY'};BYDAY={','.join(chosen)}"
    return base + (f";{clock}" if several else "")


def _numbers(value: str) -> list[int]:
    return [int(v) for v in value.split(",")] if re.fullmatch(r"\d+(,\d+)*", value) else []


def _times_of(parts: dict[str, str]) -> list[time] | None:
    """The times a rule's clock parts give (empty: none given), None if they are not plain."""
    if "BYHOUR" not in parts:
        return [] if not {"BYMINUTE", "BYSETPOS"} & parts.keys() else None
    hours, minutes = _numbers(parts["BYHOUR"]), _numbers(parts.get("BYMINUTE", ""))
    if not hours or not minutes or max(hours) > 23 or max(minutes) > 59:
        return None
    grid = [time(h, m) for h in sorted(set(hours)) for m in sorted(set(minutes))]
    if "BYSETPOS" not in parts:
        return grid
    positions = _numbers(parts["BYSETPOS"])
    if not positions or max(positions) > len(grid) or min(positions) < 1:
        return None
    return sorted({grid[p - 1] for p in positions})


def choice_for(rule: str | None) -> Choice:
    """Read a stored RRULE back into the picker."""
    if not rule:
        return Choice("once")
    body = rule.strip().upper().removeprefix("RRULE:")
    pairs = [p.partition("=") for p in body.split(";") if p]
    parts = {name: value for name, _, value in pairs}
    custom = Choice("custom", custom=rule.strip())
    times = _times_of(parts)
    if times is None or not set(parts) <= _ALLOWED or len(parts) != len(pairs):
        return custom
    freq, days = parts.get("FREQ"), parts.get("BYDAY")
    day_list = days.split(",") if days else []
    if days is not None and not set(day_list) <= set(WEEKDAYS):
        return custom
    if "COUNT" in parts:
        if freq == "DAILY" and days is None and len(times) > 1 \
                and _numbers(parts["COUNT"]) == [len(times)]:
            return Choice("once", times=times)
        return custom
    if freq == "DAILY" or (freq == "WEEKLY" and days and "BYSETPOS" not in parts):
        chosen = [d for d in WEEKDAYS if d in day_list] if days else list(WEEKDAYS)
        return Choice("weekly", weekdays=chosen, times=times)
    if freq == "MONTHLY" and days is None:
        return Choice("monthly", times=times)
    return custom


def _join(items: list[str], lang: str) -> str:
    if len(items) < 2:
        return "".join(items)
    return i18n.gettext(lang, AND) % {"items": ", ".join(items[:-1]), "last": items[-1]}


def days_phrase(weekdays: list[str], lang: str) -> str:
    """Say the days: "Hằng ngày", "Thứ Hai–Thứ Sáu", "Thứ Hai, Thứ Tư, Thứ Sáu"."""
    if len(weekdays) == len(WEEKDAYS):
        return i18n.gettext(lang, EVERY_DAY)
    names = weekday_names(lang)
    chosen = [i for i, code in enumerate(WEEKDAYS) if code in weekdays]
    runs: list[list[int]] = []
    for index in chosen:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    said = []
    for run in runs:  # three days or more in a row read as a span
        said += ([f"{names[run[0]][1]}–{names[run[-1]][1]}"] if len(run) >= 3
                 else [names[i][1] for i in run])
    return ", ".join(said)


def describe(rule: str | None, *, lang: str, start: datetime | None = None,
             until: date | None = None) -> str:
    """Say in words how often a timetable plays, e.g. "Thứ Hai–Thứ Sáu, lúc 06:00 và 17:00,
    từ 07/12/2026 đến 31/12/2026" (the start's day and time, and the last day, when given)."""
    choice = choice_for(rule)
    said: list[str] = []
    if choice.repeat == "custom":
        return _counted(rule, lang=lang, start=start, until=until)
    if choice.repeat == "weekly":
        said.append(days_phrase(choice.weekdays, lang))
    elif choice.repeat == "monthly":
        said.append(i18n.gettext(lang, MONTHLY_ON) % {"n": start.day} if start
                    else i18n.gettext(lang, REPEATS["monthly"]))
    elif start is not None:
        said.append(i18n.gettext(lang, ON_DAY) % {"day": show_day(start.date())})
    else:
        said.append(i18n.gettext(lang, REPEATS["once"]))
    times = choice.times or ([start.time()] if start else [])
    if times:
        said.append(i18n.gettext(lang, AT) % {
            "times": _join([t.strftime("%H:%M") for t in times], lang)})
    if choice.repeat != "once" and start is not None:
        said.append(i18n.gettext(lang, FROM_TO) % {"start": show_day(start.date()),
                                                   "until": show_day(until)} if until
                    else i18n.gettext(lang, FROM) % {"start": show_day(start.date())})
    return ", ".join(said)


def _counted(rule: str | None, *, lang: str, start: datetime | None, until: date | None) -> str:
    """Say a rule the picker cannot hold only because it stops after a count ("…, 5 lần"),
    else that it is a custom rule."""
    parts = [p for p in (rule or "").strip().upper().removeprefix("RRULE:").split(";") if p]
    count = [p.partition("=")[2] for p in parts if p.startswith("COUNT=")]
    rest = ";".join(p for p in parts if not p.startswith("COUNT="))
    if len(count) != 1 or not count[0].isdigit() or choice_for(rest).repeat in ("custom", "once"):
        return i18n.gettext(lang, CUSTOM)
    return ", ".join([describe(rest, lang=lang, start=start, until=until),
                      i18n.gettext(lang, TIMES) % {"n": int(count[0])}])
