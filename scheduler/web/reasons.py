"""Why a playback ended as it did, in the reader's language (the API keeps the stored text).

A reason starts with a machine code ("late", "plan_not_delivered: ...") or is one of the
fixed phrases the scheduler writes; anything else (an agent's error text) is shown as is.
"""

from __future__ import annotations

import re

from scheduler.playbacks import reasons
from scheduler.web import format as fmt
from scheduler.web import i18n
from scheduler.web.i18n import N_

BY_CODE = {
    reasons.LATE: N_("The slot passed before the station could play it"),
    reasons.NO_START_REPORTED: N_("The station was online but reported no start"),
    reasons.OFFLINE_NO_REPORT: N_("The station was offline at the slot and has not reported "
                                  "since"),
    "preempted": N_("Gave way to a playback of higher priority"),
    "expired": N_("Outside the bulletin's broadcast dates"),
    "agent_restarted": N_("The station's agent restarted while playing"),
    "agent_stopped": N_("The station's agent was stopped while playing"),
    "media_unavailable": N_("The station could not get the audio file"),
    "agent_error": N_("The station's player failed"),
    # a relay's (the agent says how long was filled after the code)
    "stream_unavailable": N_("The relayed stream could not be opened; the filler or silence "
                             "held the slot"),
    "stream_lost": N_("The relayed stream was lost and did not come back before the end"),
    "stream_gaps": N_("The relayed stream dropped out for a while; the gaps were filled"),
    reasons.AGENT_CANNOT_RELAY: N_("The station's agent cannot relay streams: update it"),
    # a live session's playbacks, cut or cancelled when it stopped (scheduler/live)
    reasons.LIVE_ENDED: N_("The live session ended"),
}
# reasons written with numbers in them: the planner's and the agents' (codes before them)
BY_PATTERN = (
    (re.compile(r"^preempted by playback \d+$"), BY_CODE["preempted"]),
    (re.compile(r"^playback \d+ was due$"), N_("Stopped for the next playback on the timetable")),
    (re.compile(r"^stopped by command\b"), N_("Stopped by an operator")),
    (re.compile(r"^conflict with (timetable|broadcast) \d+ \(playback \d+\)$"),
     N_("Another playback kept this time slot")),
)
# what an agent notes when a playback starts ("late=1200ms; clock_offset=-40ms")
STARTED_LATE = N_("Started %(n)s s late")
CLOCK_OFF = N_("the station's clock was %(n)s s off")
CLOCK_WORTH_SAYING_MS = 1000
_NOTE = re.compile(r"^(late|clock_offset)=(-?\d+)ms$")
BY_PHRASE = {
    "played to the end": N_("Played to the end"),
    "timetable deleted": N_("The timetable was deleted"),
    "timetable changed": N_("The timetable was changed"),
    "programme changed": N_("The programme was changed"),
    "station left the timetable's group": N_("The station left the timetable's group"),
    "station settings changed (quiet hours or time zone)": N_(
        "The station's quiet hours or time zone changed"),
    # written before reasons began with a code
    "no start reported while the station was online": BY_CODE[reasons.NO_START_REPORTED],
    "station offline at the slot and no report since": BY_CODE[reasons.OFFLINE_NO_REPORT],
}
# a report counts plan_not_delivered reasons together, whatever the "since" each one names
NOT_DELIVERED = N_("The plan did not reach the station")
UNKNOWN = N_("No reason given")
NEVER_CONNECTED = N_("The plan never reached the station: it has never connected")
OFFLINE_SINCE = N_("The plan never reached the station: offline since %(time)s")


def label(reason: str | None, *, zone: str, lang: str) -> str:
    """Say a stored reason in the reader's language; times in the given (station's) zone."""
    if not reason:
        return ""
    if reason in BY_PHRASE:
        return i18n.gettext(lang, BY_PHRASE[reason])
    code = reasons.code(reason)
    if code == reasons.PLAN_NOT_DELIVERED:
        since = reasons.offline_since(reason)
        if since is None:
            return i18n.gettext(lang, NEVER_CONNECTED)
        return i18n.gettext(lang, OFFLINE_SINCE) % {
            "time": fmt.short(since, zone=zone, lang=lang)}
    if code in BY_CODE:
        return i18n.gettext(lang, BY_CODE[code])
    for pattern, message in BY_PATTERN:
        if pattern.match(reason):
            return i18n.gettext(lang, message)
    return _notes(reason, lang=lang) or reason


def _notes(reason: str, *, lang: str) -> str | None:
    """Say an agent's start notes in words, or None if the reason is not only such notes."""
    said = []
    for note in reason.split("; "):
        found = _NOTE.match(note)
        if found is None:
            return None
        ms = abs(int(found.group(2)))
        if found.group(1) == "clock_offset" and ms < CLOCK_WORTH_SAYING_MS:
            continue  # a clock this close is right, as people count time
        message = STARTED_LATE if found.group(1) == "late" else CLOCK_OFF
        said.append(i18n.gettext(lang, message) % {
            "n": fmt.number(ms / 1000, lang=lang, decimals=1)})
    return "; ".join(said)


def grouped(key: str, *, lang: str) -> str:
    """Say what a report's reason group (a reason's code, or its text) means."""
    if reasons.code(key) == reasons.PLAN_NOT_DELIVERED:
        return i18n.gettext(lang, NOT_DELIVERED)
    return label(key, zone="UTC", lang=lang) or i18n.gettext(lang, UNKNOWN)
