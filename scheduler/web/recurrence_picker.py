"""The timetable form's recurrence picker: once / daily / weekly on weekdays / monthly / RRULE."""

from __future__ import annotations

import re

from babel.dates import get_day_names

from scheduler.web import i18n
from scheduler.web.i18n import N_

# RFC 5545 weekday codes, Monday first (as Babel numbers its day names)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
REPEATS = {"once": N_("Once"), "daily": N_("Every day"),
           "weekly": N_("Every week on chosen days"), "monthly": N_("Every month"),
           "custom": N_("Custom rule (RRULE)")}
EVERY_WEEK = N_("Every week")
_DAY = "(?:MO|TU|WE|TH|FR|SA|SU)"
_WEEKLY = re.compile(rf"^FREQ=WEEKLY;BYDAY=({_DAY}(?:,{_DAY})*)$")


def weekday_names(lang: str) -> list[tuple[str, str]]:
    """The weekday codes with their names in a language, Monday first ("Thứ Hai" …)."""
    names = get_day_names("wide", locale=lang)
    return [(code, str(names[index])) for index, code in enumerate(WEEKDAYS)]


def rule_for(*, repeat: str, weekdays: list[str], custom: str,
             start_weekday: int) -> str | None:
    """Write the RRULE for the picker's choice (None: play once)."""
    if repeat == "daily":
        return "FREQ=DAILY"
    if repeat == "weekly":
        chosen = [code for code in WEEKDAYS if code in weekdays] or [WEEKDAYS[start_weekday]]
        return "FREQ=WEEKLY;BYDAY=" + ",".join(chosen)
    if repeat == "monthly":
        return "FREQ=MONTHLY"
    if repeat == "custom":
        return custom.strip() or None
    return None


def choice_for(rule: str | None) -> tuple[str, list[str], str]:
    """Read a stored RRULE back into the picker: (repeat, weekdays, custom rule text)."""
    if not rule:
        return "once", [], ""
    body = rule.strip().upper().removeprefix("RRULE:")
    if body == "FREQ=DAILY":
        return "daily", [], ""
    if body == "FREQ=MONTHLY":
        return "monthly", [], ""
    weekly = _WEEKLY.match(body)
    if weekly:
        return "weekly", weekly.group(1).split(","), ""
    return "custom", [], rule.strip()


def describe(rule: str | None, *, lang: str) -> str:
    """Say in words how often a timetable plays, e.g. "Hằng tuần: Thứ Hai, Thứ Tư"."""
    repeat, weekdays, custom = choice_for(rule)
    if repeat == "weekly":
        names = dict(weekday_names(lang))
        return (f"{i18n.gettext(lang, EVERY_WEEK)}: "
                + ", ".join(names[code] for code in weekdays))
    if repeat == "custom":
        return custom
    return i18n.gettext(lang, REPEATS[repeat])
