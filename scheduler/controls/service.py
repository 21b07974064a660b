"""Record commands and their results."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.controls.models import StationCommand
from scheduler.errors import InvalidInput
from scheduler.users.models import User
from wardcast.protocol import DB_INT, Command, CommandResult, CommandType, stop_reason, utcnow


def _check(kind: CommandType, args: dict[str, Any]) -> dict[str, Any]:
    if kind is CommandType.VOLUME:
        percent = args.get("percent")
        if not isinstance(percent, int | float) or not 0 <= percent <= 100:
            raise InvalidInput("Âm lượng phải từ 0 đến 100 — args.percent must be 0–100",
                               field="args.percent")
        return {"percent": percent}
    if kind is CommandType.TEST_TONE:
        seconds = args.get("seconds", 5)
        hz = args.get("hz", 1000)
        if not isinstance(seconds, int | float) or not 1 <= seconds <= 30:
            raise InvalidInput("Thời lượng tín hiệu thử từ 1 đến 30 giây — args.seconds must "
                               "be 1–30", field="args.seconds")
        if not isinstance(hz, int | float) or not 50 <= hz <= 8000:
            raise InvalidInput("Tần số từ 50 đến 8000 Hz — args.hz must be 50–8000",
                               field="args.hz")
        return {"seconds": seconds, "hz": hz}
    if kind is CommandType.STOP and "broadcast_id" in args:
        broadcast_id = args["broadcast_id"]
        if isinstance(broadcast_id, bool) or not isinstance(broadcast_id, int) or not (
                1 <= broadcast_id <= DB_INT):
            raise InvalidInput("Mã lần phát không hợp lệ — args.broadcast_id must be a "
                               "broadcast id", field="args.broadcast_id")
        code = stop_reason(args)
        if "reason" in args and code is None:
            raise InvalidInput("Mã lý do dừng không hợp lệ — args.reason must be a reason code "
                               "(a-z, 0-9, _)", field="args.reason")
        return {"broadcast_id": broadcast_id} | ({"reason": code} if code else {})
    return {}


def create(*, session: Session, station_id: int, kind: CommandType, args: dict[str, Any],
           by: User) -> tuple[StationCommand, Command]:
    """Store a command for a station and return it with its wire form."""
    clean = _check(kind, args)
    now = utcnow()
    row = StationCommand(command_id=uuid.uuid4().hex, station_id=station_id, type=kind.value,
                         args=json.dumps(clean), sent_at=now, sent_by_id=by.id)
    session.add(row)
    session.flush()
    return row, Command(command_id=row.command_id, type=kind, sent_at=now, args=clean)


def record_result(*, session: Session, station_id: int, result: CommandResult) -> bool:
    """Store an agent's answer to one of its own commands; others are ignored."""
    row = session.scalar(select(StationCommand).where(
        StationCommand.command_id == result.command_id, StationCommand.station_id == station_id))
    if row is None or row.answered_at is not None:
        return False
    row.answered_at, row.ok, row.detail = result.at, result.ok, result.detail
    return True


def listing(*, session: Session, station_id: int, limit: int) -> list[StationCommand]:
    return list(session.scalars(select(StationCommand)
                                .where(StationCommand.station_id == station_id)
                                .order_by(StationCommand.id.desc()).limit(limit)))
