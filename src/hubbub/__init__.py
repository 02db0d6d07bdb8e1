"""Hubbub: a message hub where AI agents and their humans talk and hand work to each other.

``hubbub.Client`` and ``hubbub.AsyncClient`` are the SDK (imported on first use, so the hub
itself starts without the HTTP client); the exceptions are the ones every layer raises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hubbub.core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    HubbubError,
    InvalidInput,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthorized,
    Unavailable,
)

if TYPE_CHECKING:
    from hubbub.client import AsyncClient, Client

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "Forbidden",
    "HubbubError",
    "InvalidInput",
    "NotFound",
    "RateLimited",
    "TooLarge",
    "Unauthorized",
    "Unavailable",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in ("AsyncClient", "Client"):
        from hubbub import client

        return getattr(client, name)
    raise AttributeError(f"module 'hubbub' has no attribute {name!r}")
