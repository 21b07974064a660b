"""Domain errors: a few families that subclass builtins, each with its machine code.

Messages are for people at a ward office: Vietnamese first, then English after " — ".
Nothing here knows HTTP: scheduler/http_errors.py maps each family to its status.
"""

from __future__ import annotations

from pydantic_core import PydanticCustomError


class DomainError(Exception):
    """An error a user can act on; ``field`` names the input that is wrong, if any."""

    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        if code:
            self.code = code


class NotFound(DomainError, LookupError):
    code = "not_found"


class InvalidInput(DomainError, ValueError):
    code = "invalid"


class Conflict(DomainError):
    code = "conflict"


class NotAuthenticated(DomainError, PermissionError):
    code = "not_authenticated"


class Forbidden(DomainError, PermissionError):
    code = "forbidden"


class PayloadTooLarge(DomainError):
    code = "too_large"


class UnsupportedMedia(DomainError):
    code = "unsupported_media"


class Throttled(DomainError):
    """Refused for now; ``retry_after`` says in how many seconds to try again."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """Something the scheduler needs (a media store, a broker) cannot be reached for now."""

    code = "unavailable"


# the type of a validation error whose message is already "Tiếng Việt — English"
BILINGUAL = "wardcast."


def bilingual_error(code: str, message: str) -> PydanticCustomError:
    """A validation error (for pydantic validators) whose message reads "Tiếng Việt — English";
    the answer names the field in both halves and carries ``code``."""
    return PydanticCustomError(BILINGUAL + code, message)
