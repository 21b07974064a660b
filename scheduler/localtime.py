"""A local time of day as the API takes and gives it ("21:30", answered "21:30:00").

OpenAPI's `format: time` means RFC 3339 full-time, which carries a zone offset; quiet hours
are wall-clock times in the station's own zone, so the schema says what is really accepted.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema


def _without_zone(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("giờ địa phương không kèm múi giờ — a local time has no zone: "
                         "give HH:MM")
    return value


LocalTime = Annotated[time, AfterValidator(_without_zone), WithJsonSchema({
    "type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
    "examples": ["21:30"], "description": "local time of day in the station's zone, HH:MM"})]
