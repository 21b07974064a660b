"""Many paho clients on one asyncio loop: no network thread per client.

paho's external-loop hooks (as in its ``loop_asyncio.py`` example) hand each client's socket
to the loop: readable → ``loop_read``, writable with data queued → ``loop_write``; one timer
calls ``loop_misc`` (keepalive pings) for every client once a second. paho's own reconnect
lives in ``loop_forever``/``loop_start``, which are not used here, so each client gets a small
reconnect task with jittered exponential backoff, and at most ``connect_limit`` handshakes are
in flight at once so that 10,000 stations do not knock on the broker all in the same instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from wardcast.protocol import RECONNECT_MAX_S

log = logging.getLogger(__name__)

RECONNECT_MIN_S = 1.0
CONNACK_TIMEOUT_S = 30.0
MISC_INTERVAL_S = 1.0
MISC_SLICE = 500


@dataclass
class Session:
    """What one client's reconnect task watches; the link sets it from paho's callbacks."""

    up: asyncio.Event = field(default_factory=asyncio.Event)
    down: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    last_failure: str = ""

    def connected(self) -> None:
        self.down.clear()
        self.up.set()

    def lost(self) -> None:
        self.up.clear()
        self.down.set()


class MqttHub:
    """Drives every adopted paho client from the running loop."""

    def __init__(self, *, connect_limit: int = 100) -> None:
        self._loop = asyncio.get_running_loop()
        self._clients: set[mqtt.Client] = set()
        self._connecting = asyncio.Semaphore(connect_limit)
        self._tasks: set[asyncio.Task[None]] = set()

    def adopt(self, client: mqtt.Client) -> None:
        """Hand a client's socket events to the loop (before it first connects)."""
        client.on_socket_open = self._socket_open
        client.on_socket_close = self._socket_close
        client.on_socket_register_write = self._register_write
        client.on_socket_unregister_write = self._unregister_write
        self._clients.add(client)

    def keep_connected(self, client: mqtt.Client, session: Session, *, label: str) -> None:
        """Connect now and again after every loss, until the session is stopping."""
        task = asyncio.create_task(self._keep_connected(client, session, label))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def release(self, client: mqtt.Client, session: Session, *, wait_s: float) -> None:
        """Disconnect a client cleanly and forget it."""
        session.stopping = True
        client.disconnect()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.down.wait(), wait_s)
        self._clients.discard(client)

    async def run(self) -> None:
        """Call loop_misc on every client once a second (keepalive and ping timeouts)."""
        while True:
            await asyncio.sleep(MISC_INTERVAL_S)
            for index, client in enumerate(list(self._clients), 1):
                client.loop_misc()
                if index % MISC_SLICE == 0:
                    await asyncio.sleep(0)  # 10,000 calls at once would hold up due starts

    async def close(self) -> None:
        """Stop the reconnect tasks."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- one client's connection ----------------------------------------------------------

    async def _keep_connected(self, client: mqtt.Client, session: Session, label: str
                              ) -> None:
        delay = RECONNECT_MIN_S
        while not session.stopping:
            async with self._connecting:
                if await self._attempt(client, session, label):
                    delay = RECONNECT_MIN_S
            if session.up.is_set():
                await session.down.wait()
            if session.stopping:
                return
            # Jitter: after a broker restart every station would otherwise come back at once.
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, RECONNECT_MAX_S)

    async def _attempt(self, client: mqtt.Client, session: Session, label: str) -> bool:
        """Open the socket, send CONNECT and wait for the answer; True when accepted."""
        session.down.clear()
        try:
            # A blocking TCP connect: quick to a broker on the same network, as here.
            client.reconnect()
        except (OSError, ValueError) as exc:
            if str(exc) != session.last_failure:
                session.last_failure = str(exc)
                log.warning("%s cannot connect to the broker: %s; retrying", label, exc)
            return False
        up = asyncio.ensure_future(session.up.wait())
        down = asyncio.ensure_future(session.down.wait())
        try:
            await asyncio.wait({up, down}, timeout=CONNACK_TIMEOUT_S,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            up.cancel()
            down.cancel()
        return session.up.is_set()

    # --- paho's socket hooks (called on the loop's thread) --------------------------------

    def _socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._loop.add_reader(_fileno(sock), client.loop_read)

    def _socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._loop.remove_reader(_fileno(sock))

    def _register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        # Write once the current callback is done (so a burst of publishes goes out in one
        # send), and ask epoll only when the socket is full: with 10,000 clients, an
        # add_writer/remove_writer pair per publish is most of the cost of publishing.
        self._loop.call_soon(self._write_now, client, _fileno(sock))

    def _write_now(self, client: mqtt.Client, fd: int) -> None:
        client.loop_write()
        if client.want_write() and client.socket() is not None:
            self._loop.add_writer(fd, client.loop_write)

    def _unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._loop.remove_writer(_fileno(sock))  # no system call when it was never added


def _fileno(sock: socket.socket) -> int:
    return sock.fileno()
