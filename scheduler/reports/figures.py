"""Put the counted rows together: a station's figures, then a ward's and the city's sums.

Counts, seconds and online time add up from station to ward to city; distinct bulletins do
not (the same bulletin on two stations is one), so each level's count comes from SQL.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from typing import TypeVar

from scheduler.reports.schemas import OUTCOMES, Figures, StationFigures
from scheduler.reports.tallies import ON_AIR, Counted, OnAir
from scheduler.reports.uptime import Uptime

F = TypeVar("F", bound=Figures)
SECONDS_DIGITS = 3


def add_counted(figures: Figures, row: Counted) -> None:
    """Add a station's playbacks of one state to its figures."""
    if row.status in OUTCOMES:
        setattr(figures, row.status, getattr(figures, row.status) + row.n)
    else:
        figures.open += row.n
    if row.status != "cancelled":
        figures.planned += row.n
    if row.status in ON_AIR:
        figures.emergencies += row.emergencies
        figures.on_air_seconds += row.seconds


def add_on_air(figures: Figures, row: OnAir) -> None:
    """Add a station's seconds on air with one language, category and topic."""
    figures.by_language[row.language] = figures.by_language.get(row.language, 0.0) + row.seconds
    figures.by_category[row.category] = figures.by_category.get(row.category, 0.0) + row.seconds
    figures.by_topic[row.topic] = figures.by_topic.get(row.topic, 0.0) + row.seconds


def add_uptime(figures: Figures, uptime: Uptime) -> None:
    """Set a station's availability and longest outage."""
    figures.online_seconds = uptime.online_seconds
    figures.observed_seconds = uptime.observed_seconds
    figures.availability = uptime.availability
    figures.longest_outage = uptime.longest_outage


def add_up(total: F, parts: Iterable[Figures], *, bulletins: int) -> F:
    """Fill total with the sum of parts; distinct bulletins are given, not added."""
    # summed in locals and set once: a model's attribute set costs a Python call, and the
    # city's sum goes over every station (docs/benchmarks.md §9)
    counts = {state: getattr(total, state) for state in _ADDED}
    seconds = [total.on_air_seconds, total.online_seconds, total.observed_seconds]
    longest = total.longest_outage
    for part in parts:
        for state in _ADDED:
            counts[state] += getattr(part, state)
        seconds[0] += part.on_air_seconds
        seconds[1] += part.online_seconds
        seconds[2] += part.observed_seconds
        for mine, theirs in ((total.by_language, part.by_language),
                             (total.by_category, part.by_category),
                             (total.by_topic, part.by_topic),
                             (total.by_stream, part.by_stream)):
            _add_into(mine, theirs)
        _add_into(total.not_played_by_reason, part.not_played_by_reason)
        outage = part.longest_outage
        if outage is not None and (longest is None or outage.seconds > longest.seconds):
            longest = outage
    for state, n in counts.items():
        setattr(total, state, n)
    total.on_air_seconds, total.online_seconds, total.observed_seconds = seconds
    total.longest_outage = longest
    total.bulletins = bulletins
    total.availability = (min(total.online_seconds / total.observed_seconds, 1.0)
                          if total.observed_seconds > 0 else None)
    return total


_ADDED = (*OUTCOMES, "open", "planned", "emergencies")


def _add_into(total: dict[str, float] | dict[str, int], part: Mapping[str, float]) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0) + value  # type: ignore[assignment]


def rounded(figures: F) -> F:
    """Round the seconds (sums of floats) so that files and JSON read cleanly."""
    figures.on_air_seconds = round(figures.on_air_seconds, SECONDS_DIGITS)
    figures.online_seconds = round(figures.online_seconds, SECONDS_DIGITS)
    figures.observed_seconds = round(figures.observed_seconds, SECONDS_DIGITS)
    for values in (figures.by_language, figures.by_category, figures.by_topic,
                   figures.by_stream):
        for key in values:
            values[key] = round(values[key], SECONDS_DIGITS)
    return figures


def most_in_need(stations: list[StationFigures],
                 limit: int) -> tuple[list[StationFigures], bool]:
    """Every station, or past `limit` those most in need of attention (lowest availability,
    then most not played), the worst first; and whether some were left out."""
    if len(stations) <= limit:
        return stations, False
    return heapq.nsmallest(limit, stations, key=_attention), True


def _attention(station: StationFigures) -> tuple[float, int, str]:
    availability = 1.0 if station.availability is None else station.availability
    return availability, -(station.missed + station.failed), station.name
