"""The one place that maps each family of domain errors to an HTTP answer."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from scheduler.errors import (
    BILINGUAL,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    Throttled,
    Unavailable,
    UnsupportedMedia,
)

log = logging.getLogger(__name__)

BUSY_RETRY_S = 5

STATUS: dict[type[DomainError], int] = {
    DomainError: 400, NotFound: 404, InvalidInput: 422, Conflict: 409, NotAuthenticated: 401,
    Forbidden: 403, PayloadTooLarge: 413, UnsupportedMedia: 415, Throttled: 429,
    Unavailable: 503,
}


class ErrorBody(BaseModel):
    """Every error answer: a message for people, a code for programs, the input at fault."""

    detail: str
    code: str
    field: str | None = None


RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in ((400, "Bad request"), (401, "Not logged in"),
                                (403, "Not allowed"), (404, "Not found"), (409, "Conflict"),
                                (413, "Too large"), (415, "Not audio"),
                                (422, "Invalid input"), (429, "Too many attempts"))
}


def status_of(exc: DomainError) -> int:
    """The HTTP status of an error: its nearest family's."""
    return next(STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS)


def _body(exc: DomainError) -> dict[str, object]:
    body: dict[str, object] = {"detail": str(exc), "code": exc.code}
    if exc.field:
        body["field"] = exc.field
    return body


def response(exc: DomainError) -> JSONResponse:
    """The JSON answer for a domain error (also for middleware, outside the handlers)."""
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if isinstance(exc, Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(_body(exc), status_code=status, headers=headers)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(location) or None
    message = first.get("msg", "invalid input")
    kind = str(first.get("type", ""))
    code = "invalid"
    if kind.startswith(BILINGUAL):
        vietnamese, _, english = message.partition(" — ")
        detail = f"Trường {field}: {vietnamese} — {field}: {english}"
        code = kind.removeprefix(BILINGUAL)
    else:
        detail = f"Dữ liệu không hợp lệ ở trường {field} — invalid {field}: {message}"
    body = {"detail": detail, "code": code, "field": field, "errors": _plain(errors)}
    return JSONResponse(body, status_code=422)


def _plain(errors: object) -> object:
    """Make validation errors JSON-safe (their ctx may hold exceptions)."""
    return json.loads(json.dumps(errors, default=str))


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    detail = "Lỗi máy chủ, vui lòng thử lại — internal server error"
    return JSONResponse({"detail": detail, "code": "internal"}, status_code=500)


async def _unstorable(_request: Request, exc: Exception) -> JSONResponse:
    """Input the database cannot store (a NUL byte in text, a number out of range)."""
    log.warning("refused input the database cannot store: %s", exc)
    detail = ("Dữ liệu chứa ký tự hoặc giá trị không lưu được — input contains characters or "
              "values that cannot be stored (such as a NUL byte)")
    return JSONResponse({"detail": detail, "code": "invalid"}, status_code=422)


async def _integrity(_request: Request, exc: Exception) -> JSONResponse:
    """A uniqueness or reference rule the checks before it did not catch (e.g. a race)."""
    log.warning("integrity error: %s", exc)
    detail = "Dữ liệu trùng hoặc mâu thuẫn — the change conflicts with existing data"
    return JSONResponse({"detail": detail, "code": "conflict"}, status_code=409)


async def _busy(_request: Request, exc: Exception) -> JSONResponse:
    """Every database connection is in use and none came back in time: a burst (thousands of
    stations at once), not a fault; the agents retry."""
    log.warning("database connection pool exhausted: %s", exc)
    detail = "Máy chủ đang bận, vui lòng thử lại sau ít giây — the scheduler is busy, try again"
    return JSONResponse({"detail": detail, "code": "busy"}, status_code=503,
                        headers={"Retry-After": str(BUSY_RETRY_S)})


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    """Framework errors (bad JSON or multipart, unknown route) in our error shape."""
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "invalid request"
    return JSONResponse({"detail": f"Yêu cầu không hợp lệ — {detail}",
                         "code": "not_found" if exc.status_code == 404 else "bad_request"},
                        status_code=exc.status_code, headers=exc.headers)


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(PoolTimeout, _busy)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
