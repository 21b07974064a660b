"""uvicorn's HTTP/1.1 protocol (h11) with the timeouts it lacks for slow clients.

uvicorn times out only an idle kept-alive connection (5 s). A client that opens a connection
and sends nothing, or half a request head, a byte now and then, was held for ever: 200 such
connections (slowloris) were never cut, each a socket and a file descriptor of the server's
1,024. Here:

- the request head must be complete within `header_timeout` of the connection (or of the
  first byte of the next request on a kept-alive one), however slowly it trickles in;
- a request body must not stall for `body_timeout` (time the server itself does not read,
  its flow control or a client waiting for `100 Continue`, does not count).

Either way the connection is closed; the application sees a disconnect (an upload's scratch
copy is then removed as for any aborted upload).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


class SlowClientTimeouts(H11Protocol):
    """H11Protocol that cuts a connection whose request head or body is too slow."""

    header_timeout_s = 20.0
    body_timeout_s = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None  # "head" or "body"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Arm, keep or cancel the timer for what the connection is waiting for now."""
        state = self.conn.their_state
        if self.transport.is_closing():
            self._cancel()
        elif state is h11.IDLE:
            if self._waiting_for != "head":  # a deadline for the whole head: not re-armed
                self._arm("head", self.header_timeout_s)
        elif state is h11.SEND_BODY:
            self._arm("body", self.body_timeout_s)  # an idle limit: re-armed by each chunk
        else:
            self._cancel()

    def _arm(self, what: str, seconds: float) -> None:
        self._cancel()
        self._waiting_for = what
        self._timer = self.loop.call_later(seconds, self._expired)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._waiting_for = None, None

    def _expired(self) -> None:
        what = self._waiting_for
        self._timer, self._waiting_for = None, None
        if self.transport.is_closing():
            return
        if what == "body" and (self.flow.read_paused or (
                self.cycle is not None and self.cycle.waiting_for_100_continue)):
            self._arm("body", self.body_timeout_s)  # we are the slow side: wait on
            return
        if what == "head" and self.conn.their_state is not h11.IDLE:
            return
        limit = self.header_timeout_s if what == "head" else self.body_timeout_s
        peer = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.info("closed the HTTP connection of %s: its request %s took over %.0f s", peer,
                 what, limit)
        self.transport.close()


def slow_client_protocol(*, header_timeout_s: float,
                         body_timeout_s: float) -> type[SlowClientTimeouts]:
    """Return the protocol class for uvicorn's `http=` with these limits."""
    return type("SlowClientTimeoutsConfigured", (SlowClientTimeouts,),
                {"header_timeout_s": header_timeout_s, "body_timeout_s": body_timeout_s})
