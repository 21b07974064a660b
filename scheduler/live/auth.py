"""The check Icecast asks before it lets anyone hear a live mount (its URL authentication).

Icecast 2.4 posts `action=listener_add` with the mount and the listener's login (`user`,
`pass`) to the address in its configuration, which carries a key made at every start; it lets
the listener in only if the answer has the header `icecast-auth-user: 1`. Whatever the
status, no header means no audio.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Response
from sqlalchemy.orm import Session

from scheduler.deps import RuntimeDep, SessionDep
from scheduler.errors import Forbidden
from scheduler.live import service
from scheduler.live.icecast import AUTH_HEADER, SCHEDULER_USER, LiveServer
from scheduler.stations import service as stations

log = logging.getLogger(__name__)

router = APIRouter(prefix="/live", tags=["live"])
Field = Annotated[str, Form(max_length=1000)]
_HEADER, _, _VALUE = AUTH_HEADER.partition(": ")


@router.post("/auth", response_class=Response, summary="Icecast's listener check",
             responses={200: {"description": f"Allowed: the header `{AUTH_HEADER}` says so"}})
def listener_add(runtime: RuntimeDep, session: SessionDep,
                 key: Annotated[str, Query(max_length=200)], action: Field = "",
                 mount: Field = "", user: Field = "",
                 password: Annotated[str, Form(alias="pass", max_length=1000)] = "",
                 ip: Field = "") -> Response:
    """Let a station hear a live mount meant for it (Icecast asks; 403 refuses)."""
    live = runtime.live
    if live is None or not live.key_matches(key):
        raise Forbidden("Khóa kiểm tra không đúng — wrong key", code="bad_key")
    name = urlsplit(mount).path.lstrip("/")
    if action != "listener_add" or not _may_listen(live, session, name, user, password):
        log.info("live: %r may not listen to %r (from %s)", user, name, ip or "?")
        raise Forbidden("Tài khoản này không được nghe luồng trực tiếp này — this login may "
                        "not listen to this live stream", code="not_a_listener")
    log.info("live: %r listens to %r (from %s)", user, name, ip or "?")
    return Response(status_code=200, headers={_HEADER: _VALUE})


def _may_listen(live: LiveServer, session: Session, mount: str, user: str,
                password: str) -> bool:
    """The scheduler with the key, or a station with its token to a session meant for it."""
    if user == SCHEDULER_USER:
        return live.key_matches(password)
    return (user.isascii() and user.isdigit() and len(user) < 19
            and stations.check_login(session=session, station_id=user, token=password)
            and service.may_listen(session=session, mount=mount, station_id=int(user)))
