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
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from scheduler.broker.acl import dynsec_group_role, dynsec_scheduler_acls, dynsec_station_acls
from scheduler.broker.passwords import write_password_file

log = logging.getLogger(__name__)

DYNSEC_TOPIC = "$CONTROL/dynamic-security/v1"
DYNSEC_RESPONSE_TOPIC = DYNSEC_TOPIC + "/response"
SCHEDULER_ROLE = "wardcast-scheduler"

Publish = Callable[[str, bytes], None]
# each given station's groups, with those above them (groups.service.memberships); None: all
LoadGroups = Callable[[list[int] | None], dict[int, list[int]]]
DYNSEC_BATCH = 200  # commands per message when every station's groups are sent


class StationAccounts(Protocol):
    def prepare(self) -> None: ...
    def station_created(self, station_id: int, token: str) -> None: ...
    def token_changed(self, station_id: int, token: str) -> None: ...
    def station_revoked(self, station_id: int) -> None: ...
    def login_known(self, station_id: int) -> None: ...
    def memberships_changed(self, station_ids: list[int]) -> None: ...


Kick = Callable[[str], None]
Forget = Callable[[list[int]], None]


class DatabaseAccounts:
    """The embedded broker reads station tokens from the database; old sessions are kicked."""

    def __init__(self, kick: Kick | None = None, forget: Forget | None = None) -> None:
        self._kick = kick or (lambda _client_id: None)
        self._forget = forget or (lambda _ids: None)

    def memberships_changed(self, station_ids: list[int]) -> None:
        """The broker asks the database again for these stations' groups."""
        self._forget(station_ids)

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
        self._load_groups = load_groups or (lambda _ids: {})

    def _send(self, *commands: dict[str, object]) -> None:
        self._publish(DYNSEC_TOPIC, json.dumps({"commands": list(commands)}).encode())

    def prepare(self) -> None:
        """Give the scheduler's login the right to send plans, commands and group messages
        (an existing role is set again: an upgrade widens it), and every station its groups'
        roles."""
        self._send(
            {"command": "createRole", "rolename": SCHEDULER_ROLE,
             "acls": dynsec_scheduler_acls()},
            *({"command": "addRoleACL", "rolename": SCHEDULER_ROLE, **acl}
              for acl in dynsec_scheduler_acls()),
            {"command": "addClientRole", "username": self._scheduler, "rolename": SCHEDULER_ROLE},
        )
        self._send_groups(self._load_groups(None))

    def memberships_changed(self, station_ids: list[int]) -> None:
        """Give each station the roles of its groups (and only those), at once."""
        self._send_groups(self._load_groups(station_ids))

    def _send_groups(self, memberships: dict[int, list[int]]) -> None:
        roles = [dynsec_group_role(g) for g in sorted({g for gs in memberships.values()
                                                       for g in gs})]
        commands: list[dict[str, object]] = [
            {"command": "createRole", "rolename": name, "acls": acls} for name, acls in roles]
        commands += [{"command": "modifyClient", "username": str(station_id),
                      "roles": [{"rolename": f"station-{station_id}"}]
                      + [{"rolename": dynsec_group_role(g)[0]} for g in sorted(groups)]}
                     for station_id, groups in sorted(memberships.items())]
        for start in range(0, len(commands), DYNSEC_BATCH):
            self._send(*commands[start:start + DYNSEC_BATCH])

    def station_created(self, station_id: int, token: str) -> None:
        name = str(station_id)
        role = f"station-{name}"
        self._send(
            {"command": "createRole", "rolename": role, "acls": dynsec_station_acls(name)},
            {"command": "createClient", "username": name, "password": token, "clientid": name,
             "roles": [{"rolename": role}]},
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

    def memberships_changed(self, station_ids: list[int]) -> None:
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
        if error and "already exists" not in error:
            log.error("mosquitto refused %s: %s", response.get("command"), error)
