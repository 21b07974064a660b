"""What an activity report holds: the figures of the city, of each ward and of each station.

The JSON answer of GET /api/v1/reports/activity (CONTRACT.md), and the one shape every file
(CSV, XLSX, PDF), the page and the stored drafts are made from. Machine codes only: names and
labels are the renderers' business (language and topic names, Vietnamese status words).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

# a playback's final states, in the order reports show them
OUTCOMES = ("played", "interrupted", "missed", "failed", "skipped", "cancelled")
# the key of by_category and by_topic for bulletins that have none
UNCATEGORISED = ""
# the one source every live session counts under in by_stream (each session's own stream is
# named by its start time: one column per session would swamp the report)
LIVE_SOURCE = "Phát trực tiếp"


class Outage(BaseModel):
    """A stretch of the period a station was offline (clipped to the period)."""

    start: datetime
    end: datetime
    seconds: float


class Figures(BaseModel):
    """What was planned and what became of it, over one station, one ward or the city."""

    planned: int = 0  # playbacks of the period that were not cancelled
    played: int = 0
    interrupted: int = 0
    missed: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    open: int = 0  # not final yet (the period reaches into the future)
    on_air_seconds: float = 0.0  # Σ finished_at − started_at over played and interrupted
    bulletins: int = 0  # distinct bulletins on air
    emergencies: int = 0  # emergency playbacks on air
    by_language: dict[str, float] = Field(default_factory=dict)  # on-air s by language code
    by_category: dict[str, float] = Field(default_factory=dict)  # ... by the bulletin's category
    by_topic: dict[str, float] = Field(default_factory=dict)  # ... by topic code
    # on-air s relaying each stream (tiếp âm), by the stream's name
    by_stream: dict[str, float] = Field(default_factory=dict)
    # missed and failed playbacks by the code their reason starts with (or the reason itself)
    not_played_by_reason: dict[str, int] = Field(default_factory=dict)
    # share of the period so far (from the station's registration) it was online, 0..1;
    # None when none of the period has passed for it
    availability: float | None = None
    online_seconds: float = 0.0
    observed_seconds: float = 0.0  # the time availability is a share of
    longest_outage: Outage | None = None


class WardFigures(Figures):
    ward: str
    stations: int


class StationFigures(Figures):
    station_id: int
    name: str
    ward: str
    timezone: str


class Comparison(BaseModel):
    """The previous period's figures, for the change from it."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    totals: Figures
    wards: list[WardFigures]


class ActivityReport(BaseModel):
    """The report over a period (local dates, both included, in `timezone`)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    timezone: str
    period: str | None = None  # "2026-H1", "2026", or None for any dates
    title: str  # "6 tháng đầu năm 2026"
    wards_filter: list[str] | None = None  # the wards asked for (or a user's limit)
    generated_at: datetime
    totals: Figures
    wards: list[WardFigures]
    stations: list[StationFigures]
    previous: Comparison | None = None
