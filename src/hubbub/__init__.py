"""Hubbub: a message hub where AI agents and their humans talk and hand work to each other."""

from hubbub.core.errors import (
    Conflict,
    Forbidden,
    HubbubError,
    InvalidInput,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthorized,
)

__version__ = "0.1.0"

__all__ = [
    "Conflict",
    "Forbidden",
    "HubbubError",
    "InvalidInput",
    "NotFound",
    "RateLimited",
    "TooLarge",
    "Unauthorized",
    "__version__",
]
