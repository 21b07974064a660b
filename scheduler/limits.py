"""Refuse request bodies over the limit while they stream in, before they are buffered."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Room for the multipart envelope and form fields around the file itself.
ENVELOPE_BYTES = 64 * 1024


class BodyTooLarge(Exception):
    """Raised inside the app's receive() once a body passes the limit."""


class BodyLimit:
    """ASGI middleware: count body bytes; past the limit answer 413 and read no more."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit + ENVELOPE_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        state = {"seen": 0, "over": False, "started": False}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > self.limit:
                    state["over"] = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            if state["over"]:
                if message["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    await self._refuse(send)
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not state["started"]:
                state["started"] = True
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        limit_mb = (self.limit - ENVELOPE_BYTES) // (1024 * 1024)
        body = json.dumps({
            "detail": f"Tệp vượt quá giới hạn {limit_mb} MB — request body is too large",
            "code": "too_large", "field": "file"}, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
