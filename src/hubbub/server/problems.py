"""One error shape for every endpoint: RFC 9457 problem+json with a stable ``code``."""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from hubbub.core.errors import HubbubError, RateLimited

log = logging.getLogger("hubbub.server")

MEDIA_TYPE = "application/problem+json"
_STATUSES = {s.value for s in HTTPStatus}
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    411: "length_required",
    413: "too_large",
    415: "unsupported_media_type",
}


def problem(
    status: int, code: str, title: str, detail: str, instance: str, **extra: Any
) -> Response:
    """A problem+json response."""
    body = {
        "type": f"urn:hubbub:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
        **extra,
    }
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(retry_seconds(float(extra["retry_after"])))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="hubbub"'
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def retry_seconds(wait: float) -> int:
    """The wait a 429 announces, in its body's ``retry_after`` and its ``Retry-After`` header
    alike: whole seconds, rounded up, at least 1 (the header cannot say less)."""
    return max(1, math.ceil(wait))


def from_error(error: HubbubError, path: str) -> Response:
    """The response for a core error."""
    extra = dict(error.extra)
    if isinstance(error, RateLimited):
        extra["retry_after"] = retry_seconds(error.retry_after)
    return problem(error.status, error.code, error.title, error.detail, path, **extra)


async def _on_hubbub(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubbubError)
    return from_error(exc, request.url.path)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    title = HTTPStatus(exc.status_code).phrase if exc.status_code in _STATUSES else "HTTP error"
    if exc.status_code == 404:
        detail = f"no such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    else:
        detail = str(exc.detail)
    response = problem(exc.status_code, code, title, detail, request.url.path)
    response.headers.update(exc.headers or {})
    return response


def crashed(method: str, path: str) -> Response:
    """The answer to an unexpected error, logged with its traceback (call it while handling
    the error)."""
    log.exception("unhandled error on %s %s", method, path)
    return problem(500, "internal", "Internal error", "the hub failed; see its log", path)


async def _on_crash(request: Request, exc: Exception) -> Response:
    return crashed(request.method, request.url.path)


def handlers() -> dict[Any, Any]:
    """Starlette exception handlers routing every failure through :func:`problem`."""
    return {HubbubError: _on_hubbub, HTTPException: _on_http, Exception: _on_crash}
