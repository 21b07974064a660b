"""The reasons the ledger writes: a machine code first, then, after a colon, words for people.

Pages label the codes in the reader's language (scheduler/web/reasons.py); the API and the
CSV keep the text as stored.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# written by the watchdog
NO_START_REPORTED = "no_start_reported"
OFFLINE_NO_REPORT = "offline_no_report"
PLAN_NOT_DELIVERED = "plan_not_delivered"
# written by the watchdog for a relay whose station's agent does not play relays (it never
# got the item: an older agent would refuse the whole plan)
AGENT_CANNOT_RELAY = "agent_cannot_relay"
# a live session stopped (scheduler/live): its playbacks not started are cancelled with it,
# and an agent reports the one it cut `interrupted` with it (the STOP command's reason)
LIVE_ENDED = "live_ended"
# reported by an agent: the item's start window closed before it could play it (it was not
# running, had no media, or the item before ran over); the slot did not go out on air
LATE = "late"
# an agent's skips that mean the slot was missed; its other skips are decisions and stay so
MISSED_SKIPS = frozenset({LATE})

_CODE = re.compile(r"^([a-z][a-z0-9_]*)(?::|$)")
_SINCE = re.compile(r"offline since (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")


def code(reason: str | None) -> str | None:
    """Return the machine code a reason starts with ("late", "plan_not_delivered" ...)."""
    found = _CODE.match(reason or "")
    return found.group(1) if found else None


def no_start_reported() -> str:
    return f"{NO_START_REPORTED}: no start reported while the station was online"


def agent_cannot_relay() -> str:
    return (f"{AGENT_CANNOT_RELAY}: the station's agent does not play relays (update it); "
            "the relay was not sent to it")


def offline_no_report() -> str:
    return f"{OFFLINE_NO_REPORT}: station offline at the slot and no report since"


def plan_not_delivered(offline_since: datetime | None) -> str:
    """Say that the plan never reached a station, offline since then (None: never heard from)."""
    head = f"{PLAN_NOT_DELIVERED}: the plan never reached the station; "
    if offline_since is None:
        return head + "never connected"
    return head + "offline since " + offline_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def offline_since(reason: str | None) -> datetime | None:
    """Return the instant a plan_not_delivered reason says the station went offline."""
    found = _SINCE.search(reason or "")
    return datetime.fromisoformat(found.group(1)) if found else None
