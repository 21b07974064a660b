"""Domain errors and the one place that maps each family to an HTTP answer.

Messages are for people at a ward office: Vietnamese first, then English after " — ".
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)


class DomainError(Exception):
    """An error a user can act on; ``field`` names the input that is wrong, if any."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        if code:
            self.code = code


class NotFound(DomainError, LookupError):
    status_code = 404
    code = "not_found"


class InvalidInput(DomainError, ValueError):
    status_code = 422
    code = "invalid"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class NotAuthenticated(DomainError, PermissionError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(DomainError, PermissionError):
    status_code = 403
    code = "forbidden"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "too_large"


class UnsupportedMedia(DomainError):
    status_code = 415
    code = "unsupported_media"


def _body(exc: DomainError) -> dict[str, object]:
    body: dict[str, object] = {"detail": str(exc), "code": exc.code}
    if exc.field:
        body["field"] = exc.field
    return body


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(_body(exc), status_code=exc.status_code, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(location) or None
    message = first.get("msg", "invalid input")
    detail = f"Dữ liệu không hợp lệ ở trường {field} — invalid {field}: {message}"
    body = {"detail": detail, "code": "invalid", "field": field, "errors": _plain(errors)}
    return JSONResponse(body, status_code=422)


def _plain(errors: object) -> object:
    """Make validation errors JSON-safe (their ctx may hold exceptions)."""
    import json

    return json.loads(json.dumps(errors, default=str))


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    detail = "Lỗi máy chủ, vui lòng thử lại — internal server error"
    return JSONResponse({"detail": detail, "code": "internal"}, status_code=500)


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
