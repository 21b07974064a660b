"""A station's online spells: opened and closed as its availability messages change it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from scheduler.db import in_list
from scheduler.stations.models import Station, StationSpell

_SPELLS = cast(Table, StationSpell.__table__)


@dataclass
class Spells:
    """The spells a batch of availability messages opens and closes, written together (a
    broker restart brings thousands)."""

    opened: dict[int, dict[str, object]] = field(default_factory=dict)  # by station, in order
    done: list[dict[str, object]] = field(default_factory=list)  # opened and closed here
    closed: list[dict[str, object]] = field(default_factory=list)

    def note(self, station: Station, *, online: bool, now: datetime) -> None:
        """Note a station's new state; call before its own fields change (it reads them)."""
        if online and not station.online:
            self.opened[station.id] = {"station_id": station.id, "online_from": now,
                                       "online_until": None}
        elif not online and station.online:
            # known to be online until it was last heard from, not until its will came
            at = station.last_seen_at or now
            if (spell := self.opened.pop(station.id, None)) is not None:
                self.done.append(spell | {"online_until": at})
            else:
                self.closed.append({"sid": station.id, "at": at})

    def write(self, *, session: Session) -> None:
        """Close the spells open before the batch, then store those it began."""
        if self.closed:
            session.execute(update(_SPELLS).where(_SPELLS.c.station_id == bindparam("sid"),
                                                  _SPELLS.c.online_until.is_(None))
                            .values(online_until=bindparam("at")), self.closed)
        if rows := self.done + list(self.opened.values()):
            session.execute(insert(_SPELLS), rows)
        self.opened, self.done, self.closed = {}, [], []


def close(*, session: Session, station_ids: list[int], at: datetime) -> None:
    """End these stations' open spells at an instant."""
    session.execute(update(StationSpell)
                    .where(in_list(session, StationSpell.station_id, station_ids),
                           StationSpell.online_until.is_(None))
                    .values(online_until=at))
