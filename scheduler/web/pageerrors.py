"""Errors on pages answer as pages (log-in redirect, 403/404 pages); the API keeps JSON."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from scheduler.errors import DomainError
from scheduler.http_errors import status_of
from scheduler.web.session import LoginRequired
from scheduler.web.templating import render

Handler = Callable[[Request, Exception], Awaitable[Response]]
AnyHandler = Callable[[Request, Any], Response | Awaitable[Response]]
NOT_PAGES = ("/api/", "/healthz", "/docs", "/redoc", "/openapi.json", "/static/")


def is_page(request: Request) -> bool:
    """Tell whether a request is for a web page rather than the API or a file."""
    return not request.url.path.startswith(NOT_PAGES)


def _status_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status_code=status, status=status, message=message)


def _wrap(api_handler: AnyHandler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            answer = api_handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        if isinstance(exc, LoginRequired):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        if isinstance(exc, DomainError):
            return _status_page(request, status_of(exc), str(exc))
        if isinstance(exc, StarletteHTTPException):
            return _status_page(request, exc.status_code, str(exc.detail))
        if isinstance(exc, RequestValidationError):
            return _status_page(request, 422, "Dữ liệu không hợp lệ — invalid input")
        answer = api_handler(request, exc)  # logs it
        answer = await answer if inspect.isawaitable(answer) else answer
        try:
            return _status_page(request, 500, "Lỗi máy chủ, vui lòng thử lại — internal "
                                "server error")
        except Exception:  # the error page itself failed: the plain answer must do
            return answer

    return handle


def install(app: FastAPI) -> None:
    """Put page-aware handlers in front of the API's JSON handlers."""
    for family in (DomainError, StarletteHTTPException, RequestValidationError, Exception):
        app.add_exception_handler(family, _wrap(app.exception_handlers[family]))
