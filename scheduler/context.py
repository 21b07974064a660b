"""What routes and use cases may ask of the running scheduler.

The app's wiring (scheduler/runtime.py, put on ``app.state`` by scheduler/app.py) fulfils
these Protocols; routes reach it through ``deps.RuntimeDep``, so that none of them imports the
dispatcher or the MQTT code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from scheduler.broker.accounts import StationAccounts
from scheduler.bulletins.storage import MediaStore
from scheduler.config import Settings
from scheduler.db import Database
from scheduler.live.icecast import LiveServer
from scheduler.live.ingest import Ingests
from wardcast.protocol import Command


class Commands(Protocol):
    """Sends a station a command, or a group a message, now (the dispatcher, while the broker
    link is up)."""

    def send_command(self, station_id: int, command: Command) -> None: ...
    def publish(self, topic: str, payload: bytes) -> None: ...


class AppContext(Protocol):
    """The long-lived parts a request may use: settings, database, media, the broker's side."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def store(self) -> MediaStore: ...

    @property
    def dispatcher(self) -> Commands | None: ...

    @property
    def accounts(self) -> StationAccounts | None: ...

    @property
    def live(self) -> LiveServer | None:
        """The streaming server for live voice; None when live is off or unavailable."""

    @property
    def ingests(self) -> Ingests:
        """The transcoders of the live sessions this process runs."""

    @property
    def horizon(self) -> timedelta: ...

    @property
    def at_risk_lead(self) -> timedelta: ...

    @property
    def lookahead(self) -> timedelta: ...

    def push_plans(self, station_ids: set[int]) -> None:
        """Send these stations their plans (after the change is committed)."""

    def plan_and_push(self, only: list[int] | None = None) -> set[int]:
        """Plan the horizon (for some timetables or all) and send the changed plans."""
