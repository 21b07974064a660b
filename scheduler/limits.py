"""Bound request bodies before they are buffered: a small limit for JSON and forms, the upload
limit for the upload routes, whose bodies are read only once the sender is known."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scheduler.errors import PayloadTooLarge
from scheduler.http_errors import response

# Room for the multipart envelope and form fields around the file itself.
ENVELOPE_BYTES = 64 * 1024

# Answers a request before its body is read: a refusal, or None to let it in.
Gate = Callable[[Scope], Awaitable[Response | None]]


class BodyTooLarge(Exception):
    """Raised inside the app's receive() once a body passes the limit."""


def size_text(limit: int) -> str:
    """Say a byte count the way the refusals do: "1 MB", "190.7 MB", "512 KB"."""
    if limit < 1024 * 1024:
        return f"{max(1, round(limit / 1024))} KB"
    return f"{limit / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def too_large(limit: int, *, upload: bool) -> PayloadTooLarge:
    """The refusal of a body over its limit (an upload's names the file)."""
    if upload:
        return PayloadTooLarge(f"Tệp vượt quá giới hạn {size_text(limit)} — the file is larger "
                               f"than {size_text(limit)}", field="file")
    return PayloadTooLarge(f"Nội dung yêu cầu vượt quá giới hạn {size_text(limit)} — the "
                           f"request body is larger than {size_text(limit)}")


class BodyLimit:
    """ASGI middleware: count body bytes; past the limit answer 413 and read no more.

    A body that declares its length is refused on that alone. An upload route's body is read
    only after ``gate`` has let the request in (a valid login), so that nobody unknown can make
    the server take in hundreds of megabytes. A streamed route's body (PUT to a path that
    ``streamed`` matches: a live session's source) has no byte limit: the route checks its
    key before it reads a byte, and the session's time limit bounds it.
    """

    def __init__(self, app: ASGIApp, *, limit: int, uploads: Mapping[str, int],
                 gate: Gate | None = None, streamed: re.Pattern[str] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.uploads = dict(uploads)  # POST path -> its limit
        self.gate = gate
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
                self.streamed is not None and scope["method"] == "PUT"
                and self.streamed.fullmatch(_route_path(scope))):
            await self.app(scope, receive, send)
            return
        upload_limit = self.uploads.get(_route_path(scope)) if scope["method"] == "POST" else None
        upload = upload_limit is not None
        shown = upload_limit if upload_limit is not None else self.limit
        limit = shown + ENVELOPE_BYTES if upload else shown
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _answer(too_large(shown, upload=upload), scope, receive, send)
            return
        if upload and self.gate is not None:
            refused = await self.gate(scope)
            if refused is not None:
                refused.headers["connection"] = "close"  # the unread body stays unread
                await refused(scope, receive, send)
                return
        await self._counted(scope, receive, send, limit=limit,
                            refusal=lambda: too_large(shown, upload=upload))

    async def _counted(self, scope: Scope, receive: Receive, send: Send, *, limit: int,
                       refusal: Callable[[], PayloadTooLarge]) -> None:
        state = {"seen": 0, "over": False, "started": False}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > limit:
                    state["over"] = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            # the app may have turned BodyTooLarge into an answer of its own (400): ours goes
            if state["over"]:
                if message["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    await _answer(refusal(), scope, receive, send)
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not state["started"]:
                state["started"] = True
                await _answer(refusal(), scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the app routes on (without the root path a proxy may put in front)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root + "/") else path


async def _answer(refusal: PayloadTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
    answer = response(refusal)
    answer.headers["connection"] = "close"
    await answer(scope, receive, send)
