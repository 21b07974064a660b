"""The audit log in words: what was done (in the reader's language) and to whom or what, by
name. The machine codes (`user.update`) stay in the API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from scheduler.audit.models import AuditEvent
from scheduler.errors import NotFound
from scheduler.users import service as users
from scheduler.web.i18n import N_, gettext
from scheduler.web.names import Names

ACTIONS = {
    "user.create": N_("created the account (%(role)s)"),
    "user.password": N_("changed their own password"),
    "token.create": N_("issued an API token"),
    "token.revoke": N_("revoked a login session or API token"),
    "token.revoke_all": N_("ended every login session and API token"),
    "bulletin.upload": N_("uploaded the bulletin"),
    "bulletin.update": N_("changed the bulletin"),
    "bulletin.approve": N_("approved the bulletin"),
    "bulletin.reject": N_("rejected the bulletin"),
    "station.register": N_("registered the station"),
    "station.update": N_("changed the station"),
    "station.revoke": N_("revoked the station's token"),
    "station.rotate_token": N_("issued the station a new token"),
    "station.command": N_("sent the station a command"),
    "timetable.create": N_("created a timetable"),
    "timetable.update": N_("changed a timetable"),
    "timetable.delete": N_("deleted a timetable"),
    "broadcast.create": N_("broadcast now"),
    "broadcast.stop": N_("stopped an emergency broadcast"),
    "emergency.record": N_("recorded emergency audio"),
    "emergency.fresh": N_("sent a fresh emergency recording"),
    "bulletin.archive": N_("archived the bulletin"),
    "bulletin.delete": N_("deleted the bulletin"),
    "bulletin.replace_audio": N_("replaced the bulletin's audio"),
    "programme.create": N_("created a programme"),
    "programme.update": N_("changed a programme"),
    "programme.delete": N_("deleted a programme"),
    "group.create": N_("created a station group"),
    "group.update": N_("changed a station group"),
    "feed.create": N_("created a calendar feed"),
    "feed.revoke": N_("revoked a calendar feed"),
    "topic.create": N_("added a topic"),
    "topic.update": N_("changed a topic"),
    "topic.delete": N_("removed a topic"),
    "source.create": N_("added a source"),
    "source.update": N_("changed a source"),
    "source.delete": N_("removed a source"),
    "report_draft.create": N_("prepared a report draft"),
    "report_draft.fail": N_("could not prepare a report draft"),
    "report_draft.mail": N_("mailed a report draft"),
    "stream.create": N_("added a stream source"),
    "stream.update": N_("changed a stream source"),
    "stream.check": N_("checked a stream source"),
    "stream.delete": N_("deleted a stream source"),
}
OTHER = N_("made another change")
ROLE_TO = N_("changed the role to %(role)s")
WARDS_TO = N_("limited to the wards: %(wards)s")
ALL_WARDS = N_("removed the ward limits")
DEACTIVATED = N_("deactivated the account")
REACTIVATED = N_("reactivated the account")
PASSWORD_RESET = N_("reset the password")
GONE = N_("(deleted)")
# the names the audit log gives to actors that are not users
SYSTEM_ACTORS = (N_("(command line)"), N_("(scheduler)"))


@dataclass(frozen=True)
class Entry:
    """One audit row as the page shows it."""

    event: AuditEvent
    who: str
    what: str
    target: str


def _detail(event: AuditEvent) -> dict[str, Any]:
    try:
        detail = json.loads(event.detail or "{}")
    except ValueError:
        return {}
    return detail if isinstance(detail, dict) else {}


def _user_change(detail: dict[str, Any], lang: str) -> str:
    parts = []
    if "role" in detail and detail["role"]:
        parts.append(gettext(lang, ROLE_TO) % {"role": gettext(lang, str(detail["role"]))})
    if "wards" in detail and detail["wards"] is not None:
        wards = ", ".join(str(w) for w in detail["wards"])
        parts.append(gettext(lang, WARDS_TO) % {"wards": wards} if wards
                     else gettext(lang, ALL_WARDS))
    if detail.get("active") is False:
        parts.append(gettext(lang, DEACTIVATED))
    elif detail.get("active") is True:
        parts.append(gettext(lang, REACTIVATED))
    if "password" in detail:
        parts.append(gettext(lang, PASSWORD_RESET))
    return "; ".join(parts) or gettext(lang, OTHER)


def what(event: AuditEvent, lang: str) -> str:
    """Say what an audit row records, in words."""
    detail = _detail(event)
    if event.action == "user.update":
        return _user_change(detail, lang)
    words = ACTIONS.get(event.action, OTHER)
    return gettext(lang, words) % {"role": gettext(lang, str(detail.get("role", "")))}


class Targets:
    """Name what each audit row was done to, looking each one up once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.names = Names(session)
        self._users: dict[str, str] = {}

    def user(self, user_id: str) -> str:
        if user_id not in self._users:
            try:
                self._users[user_id] = users.get(session=self.session,
                                                 user_id=int(user_id)).username
            except (NotFound, ValueError):
                self._users[user_id] = ""
        return self._users[user_id]

    def of(self, event: AuditEvent, lang: str) -> str:
        detail = _detail(event)
        target = event.target_id or ""
        found = ""
        if event.target_type == "user" and target:
            found = self.user(target) or str(detail.get("username", ""))
        elif event.target_type == "station" and target.isdigit():
            found = self.names.station(int(target))
        elif event.target_type == "bulletin" and target.isdigit():
            found = self.names.bulletin(int(target))
        else:
            found = str(detail.get("name") or detail.get("title") or "")
        if found.startswith("#") or (not found and target):
            return gettext(lang, GONE) if event.target_type in ("user", "station",
                                                                "bulletin") else ""
        return found


def entries(session: Session, rows: list[AuditEvent], lang: str) -> list[Entry]:
    """The rows in words, for the page."""
    targets = Targets(session)
    return [Entry(event=row, who=row.username if row.user_id is not None
                  else gettext(lang, row.username), what=what(row, lang),
                  target=targets.of(row, lang)) for row in rows]
