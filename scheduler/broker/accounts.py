"""Keep the broker's station logins in step with the database.

The embedded broker asks the database directly, so it needs nothing here. Mosquitto is told
through its dynamic-security plugin: one client and one role per station.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Protocol

from scheduler.broker.acl import dynsec_scheduler_acls, dynsec_station_acls

log = logging.getLogger(__name__)

DYNSEC_TOPIC = "$CONTROL/dynamic-security/v1"
DYNSEC_RESPONSE_TOPIC = DYNSEC_TOPIC + "/response"
SCHEDULER_ROLE = "wardcast-scheduler"

Publish = Callable[[str, bytes], None]


class StationAccounts(Protocol):
    def prepare(self) -> None: ...
    def station_created(self, station_id: int, token: str) -> None: ...
    def token_changed(self, station_id: int, token: str) -> None: ...
    def station_revoked(self, station_id: int) -> None: ...


Kick = Callable[[str], None]


class DatabaseAccounts:
    """The embedded broker reads station tokens from the database; old sessions are kicked."""

    def __init__(self, kick: Kick | None = None) -> None:
        self._kick = kick or (lambda _client_id: None)

    def prepare(self) -> None:
        return None

    def station_created(self, station_id: int, token: str) -> None:
        return None

    def token_changed(self, station_id: int, token: str) -> None:
        self._kick(str(station_id))

    def station_revoked(self, station_id: int) -> None:
        self._kick(str(station_id))


class DynsecAccounts:
    """Mosquitto's dynamic-security plugin, driven over its $CONTROL topic."""

    def __init__(self, publish: Publish, scheduler_username: str) -> None:
        self._publish = publish
        self._scheduler = scheduler_username

    def _send(self, *commands: dict[str, object]) -> None:
        self._publish(DYNSEC_TOPIC, json.dumps({"commands": list(commands)}).encode())

    def prepare(self) -> None:
        """Give the scheduler's login the right to send plans and commands."""
        self._send(
            {"command": "createRole", "rolename": SCHEDULER_ROLE,
             "acls": dynsec_scheduler_acls()},
            {"command": "addClientRole", "username": self._scheduler, "rolename": SCHEDULER_ROLE},
        )

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
