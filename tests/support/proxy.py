"""A TCP proxy on loopback that a test can cut and restore, to take one agent's link down."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from tests.support.procs import free_port


class LinkProxy:
    """Forwards 127.0.0.1:port to 127.0.0.1:target until cut; refuses connections while cut."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._silent = False
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> LinkProxy:
        self._thread.start()
        self.restore()
        return self

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)  # type: ignore[arg-type]

    def restore(self) -> None:
        """Accept and forward connections again (a silenced one is dropped: the peers' state
        no longer matches)."""
        if self._silent:
            self._silent = False
            self._call(self._close())
        self._call(self._listen())

    def cut(self) -> None:
        """Drop every connection and refuse new ones, as a dead 3G link would."""
        self._call(self._close())

    def silence(self) -> None:
        """Keep every connection open but carry nothing, either way, as a 3G link that dies
        without a word; new connections are taken and left silent too."""
        self._silent = True

    def stop(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if self._silent:
                    continue  # swallowed
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._writers.discard(writer)
