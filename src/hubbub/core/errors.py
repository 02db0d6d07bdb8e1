"""The one exception tree. Every failure the hub reports is one of these.

    HubbubError                 500 internal
    ├── BadRequest              400 bad_request
    ├── InvalidInput            422 invalid
    ├── Unauthorized            401 unauthorized
    ├── Forbidden               403 forbidden
    ├── NotFound                404 not_found
    ├── Conflict                409 conflict
    ├── TooLarge                413 too_large
    ├── RateLimited             429 rate_limited
    └── Unavailable             503 unavailable

Each class knows its HTTP status and a default stable ``code``; a raise may name a more
specific code (``NotFound(..., code="channel_not_found")``). Adapters map these once per wire
format and the SDK raises the same classes back from a problem+json answer.
"""

from __future__ import annotations

from typing import Any, ClassVar


class HubbubError(Exception):
    """Root of every error the hub raises on purpose."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.extra = extra

    def __str__(self) -> str:
        return self.detail


class BadRequest(HubbubError):
    """The request itself is malformed: a header sent twice, a body that is not JSON."""

    status = 400
    default_code = "bad_request"
    title = "Bad request"


class InvalidInput(HubbubError):
    """The request is well-formed JSON but breaks a rule (name, size, shape, value)."""

    status = 422
    default_code = "invalid"
    title = "Invalid input"


class Unauthorized(HubbubError):
    """No credential, or one that is unknown or revoked."""

    status = 401
    default_code = "unauthorized"
    title = "Unauthorized"


class Forbidden(HubbubError):
    """The credential is valid but may not do this."""

    status = 403
    default_code = "forbidden"
    title = "Forbidden"


class NotFound(HubbubError):
    """The thing does not exist, or the caller may not know that it does."""

    status = 404
    default_code = "not_found"
    title = "Not found"


class Conflict(HubbubError):
    """The request clashes with the current state (duplicate, archived, reused key)."""

    status = 409
    default_code = "conflict"
    title = "Conflict"


class TooLarge(HubbubError):
    """A body, content, metadata or file is over its limit."""

    status = 413
    default_code = "too_large"
    title = "Too large"


class RateLimited(HubbubError):
    """Too many requests; ``retry_after`` says how many seconds to wait."""

    status = 429
    default_code = "rate_limited"
    title = "Rate limited"

    def __init__(self, detail: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(detail, code=code, retry_after=retry_after)
        self.retry_after = retry_after


class Unavailable(HubbubError):
    """The hub cannot serve the request right now (starting, stopping, storage down)."""

    status = 503
    default_code = "unavailable"
    title = "Unavailable"


ERROR_CLASSES: tuple[type[HubbubError], ...] = (
    BadRequest,
    InvalidInput,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    TooLarge,
    RateLimited,
    Unavailable,
)


def error_class_for_status(status: int) -> type[HubbubError]:
    """The error class an HTTP status maps back to (the SDK's way home)."""
    for cls in ERROR_CLASSES:
        if cls.status == status:
            return cls
    return HubbubError
