"""Keep the broker's station logins in step with the database.

amqtt (the fallback embedded broker) asks the database directly, so it needs nothing here
but to forget the groups it remembers of a station. The Mosquitto that `wardcast serve` runs
reads a password file and an acl file written from the database and reloaded on SIGHUP. An
external Mosquitto is told through its dynamic-security plugin: one client and one role per
station, and one role per group, which its members hold (the right to read the group's
urgent topic).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from scheduler.broker.acl import (
    GROUP_ROLE_PRIORITY,
    dynsec_fleet_acls,
    dynsec_group_role,
    dynsec_scheduler_acls,
    dynsec_station_acls,
)
from scheduler.broker.passwords import write_password_file

log = logging.getLogger(__name__)

DYNSEC_TOPIC = "$CONTROL/dynamic-security/v1"
DYNSEC_RESPONSE_TOPIC = DYNSEC_TOPIC + "/response"
SCHEDULER_ROLE = "wardcast-scheduler"
SCHEDULER_URGENT_ROLE = "wardcast-scheduler-urgent"

Publish = Callable[[str, bytes], None]
# every station (its id) and the groups it belongs to, with those above them
LoadGroups = Callable[[], dict[int, list[int]]]
# what a change did: each station's groups before it and after it
Changes = Mapping[int, tuple[Sequence[int], Sequence[int]]]
DYNSEC_BATCH = 200  # commands per message when every station's roles are sent
FLEET_ROLE = "wardcast-fleet"  # every station: read the fleet's urgent topic
# Marks a command sent again at every start: Mosquitto 2.0 answers a role the client holds
# already with "Internal error", which is then no error at all.
IF_MISSING = "wardcast:if-missing"


class StationAccounts(Protocol):
    def prepare(self) -> None: ...
    def station_created(self, station_id: int, token: str) -> None: ...
    def token_changed(self, station_id: int, token: str) -> None: ...
    def station_revoked(self, station_id: int) -> None: ...
    def login_known(self, station_id: int) -> None: ...
    def memberships_changed(self, changes: Changes) -> None: ...


Kick = Callable[[str], None]
Forget = Callable[[list[int]], None]


class DatabaseAccounts:
    """The embedded broker reads station tokens from the database; old sessions are kicked."""

    def __init__(self, kick: Kick | None = None, forget: Forget | None = None) -> None:
        self._kick = kick or (lambda _client_id: None)
        self._forget = forget or (lambda _ids: None)

    def memberships_changed(self, changes: Changes) -> None:
        """The broker asks the database again for these stations' groups."""
        self._forget(sorted(changes))

    def prepare(self) -> None:
        return None

    def station_created(self, station_id: int, token: str) -> None:
        return None

    def token_changed(self, station_id: int, token: str) -> None:
        self._kick(str(station_id))

    def station_revoked(self, station_id: int) -> None:
        self._kick(str(station_id))

    def login_known(self, station_id: int) -> None:
        return None


class DynsecAccounts:
    """Mosquitto's dynamic-security plugin, driven over its $CONTROL topic."""

    def __init__(self, publish: Publish, scheduler_username: str,
                 load_groups: LoadGroups | None = None) -> None:
        self._publish = publish
        self._scheduler = scheduler_username
        self._load_groups = load_groups or dict

    def _send(self, *commands: dict[str, object]) -> None:
        self._publish(DYNSEC_TOPIC, json.dumps({"commands": list(commands)}).encode())

    def prepare(self) -> None:
        """Give the scheduler's login the right to send plans, commands and group messages,
        and every station the roles of the fleet and of its groups.

        The plugin disconnects a client whose roles change, or who holds a role whose rules
        change: so at each start only roles are added, and one a client holds already is
        refused without a disconnect. The group and fleet topics are roles of their own, which
        an install from before them gains once (each station and the scheduler disconnected
        once), never a change of an existing role at every start. A group role a station
        should no longer hold is taken away when its membership changes (memberships_changed);
        one left over by a scheduler that died at that moment stays until its next change,
        and the agent, which acts only for the groups its plan lists, ignores that group.
        """
        every = self._load_groups()
        fleet: list[dict[str, object]] = [
            {"command": "addClientRole", "username": str(station_id), "rolename": FLEET_ROLE}
            for station_id in sorted(every)]
        adds = [*fleet, *self._roles_added({sid: ((), gs) for sid, gs in every.items()})]
        self._send_all([
            {"command": "createRole", "rolename": SCHEDULER_ROLE,
             "acls": dynsec_scheduler_acls(stations=True)},
            {"command": "addClientRole", "username": self._scheduler, "rolename": SCHEDULER_ROLE},
            {"command": "createRole", "rolename": SCHEDULER_URGENT_ROLE,
             "acls": dynsec_scheduler_acls(stations=False)},
            {"command": "addClientRole", "username": self._scheduler,
             "rolename": SCHEDULER_URGENT_ROLE},
            {"command": "createRole", "rolename": FLEET_ROLE, "acls": dynsec_fleet_acls()},
            *adds])

    def memberships_changed(self, changes: Changes) -> None:
        """Give each station the roles of the groups it joined and take those it left, at
        once (the plugin disconnects it once: its agent reconnects with its session)."""
        self._send_all(self._roles_added(changes) + [
            {"command": "removeClientRole", "username": str(station_id),
             "rolename": dynsec_group_role(g)[0]}
            for station_id, (before, after) in sorted(changes.items())
            for g in sorted(set(before) - set(after))])

    def _roles_added(self, changes: Changes) -> list[dict[str, object]]:
        joined = {sid: sorted(set(after) - set(before))
                  for sid, (before, after) in changes.items()}
        roles = [dynsec_group_role(g) for g in sorted({g for gs in joined.values() for g in gs})]
        commands: list[dict[str, object]] = [
            {"command": "createRole", "rolename": name, "acls": acls} for name, acls in roles]
        return commands + [{"command": "addClientRole", "username": str(station_id),
                            "rolename": dynsec_group_role(g)[0],
                            "priority": GROUP_ROLE_PRIORITY}
                           for station_id, groups in sorted(joined.items()) for g in groups]

    def _send_all(self, commands: list[dict[str, object]]) -> None:
        """Send commands, a batch per message; a role given again is marked IF_MISSING."""
        marked = [{**c, "correlationData": IF_MISSING} if c["command"] == "addClientRole"
                  else c for c in commands]
        for start in range(0, len(marked), DYNSEC_BATCH):
            self._send(*marked[start:start + DYNSEC_BATCH])

    def station_created(self, station_id: int, token: str) -> None:
        name = str(station_id)
        role = f"station-{name}"
        self._send(
            {"command": "createRole", "rolename": role, "acls": dynsec_station_acls(name)},
            {"command": "createClient", "username": name, "password": token, "clientid": name,
             "roles": [{"rolename": role}, {"rolename": FLEET_ROLE}]},
        )

    def token_changed(self, station_id: int, token: str) -> None:
        """Set the new password and drop any connection made with the old one."""
        name = str(station_id)
        self._send(
            {"command": "setClientPassword", "username": name, "password": token},
            {"command": "disableClient", "username": name},
            {"command": "enableClient", "username": name},
        )

    def station_revoked(self, station_id: int) -> None:
        """Disable the login, which also drops its connection."""
        self._send({"command": "disableClient", "username": str(station_id)})

    def login_known(self, station_id: int) -> None:
        return None  # the dynsec client was made with the token itself


LoadLogins = Callable[[], list[tuple[str, str]]]


class PasswordFileAccounts:
    """Rewrite the supervised Mosquitto's password and acl files from the database, then
    reload them.

    Every change rewrites the whole file (a line per station, written in milliseconds even
    for 10,000) and sends one SIGHUP: on reload Mosquitto also drops any connection whose
    password no longer checks out, so a rotated or revoked token is cut at once. Changes
    that arrive together share one rewrite, and the API answers once it is done: a new
    station's token works at once, a rotated one's old session is already gone.
    """

    def __init__(self, *, path: Path, load: LoadLogins, reload: Callable[[], None],
                 write_acl: Callable[[], None] = lambda: None) -> None:
        self._path, self._load, self._reload = path, load, reload
        self._write_acl = write_acl
        self._changed = threading.Condition()
        self._wanted = 0  # generation asked for
        self._written = 0  # generation on disk and signalled
        self._stopping = False
        self._worker: threading.Thread | None = None

    def prepare(self) -> None:
        """Write the file once now (before the broker starts) and start the writer."""
        self.write()
        self._worker = threading.Thread(target=self._run, name="broker-accounts", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=5)

    def write(self) -> int:
        """Write every station's login and groups now; return how many logins there are."""
        self._write_acl()
        return write_password_file(self._path, self._load())

    def station_created(self, station_id: int, token: str) -> None:
        self._request(wait=True)

    def token_changed(self, station_id: int, token: str) -> None:
        self._request(wait=True)

    def station_revoked(self, station_id: int) -> None:
        self._request(wait=True)

    def login_known(self, station_id: int) -> None:
        self._request(wait=False)

    def memberships_changed(self, changes: Changes) -> None:
        self._request(wait=True)

    def _request(self, *, wait: bool, timeout: float = 10.0) -> None:
        with self._changed:
            self._wanted += 1
            generation = self._wanted
            self._changed.notify_all()
            if wait and not self._changed.wait_for(
                    lambda: self._written >= generation or self._stopping, timeout=timeout):
                log.error("the broker's password file was not rewritten within %ss", timeout)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._wanted > self._written or self._stopping)
                if self._stopping:
                    return
                generation = self._wanted
            try:
                count = self.write()
                self._reload()
                log.debug("broker password file rewritten: %d station logins", count)
            except Exception:  # a failed rewrite is logged and tried again with the next change
                log.exception("could not rewrite the broker's password file")
            with self._changed:
                self._written = max(self._written, generation)
                self._changed.notify_all()


def log_dynsec_response(payload: bytes) -> None:
    """Log what Mosquitto answered to our dynamic-security commands."""
    try:
        responses = json.loads(payload).get("responses", [])
    except (ValueError, AttributeError):
        log.warning("unreadable dynamic-security response")
        return
    for response in responses:
        error = response.get("error")
        if not error or "already exists" in error:
            continue
        if response.get("correlationData") == IF_MISSING and error == "Internal error":
            continue  # the client holds that role already
        log.error("mosquitto refused %s: %s", response.get("command"), error)
