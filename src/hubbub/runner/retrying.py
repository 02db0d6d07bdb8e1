"""Calls to the hub that must get through: tried again through outages (``Unavailable``, which
the SDK raises once its own retries run out) and rate limits, for as long as it takes."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from hubbub.core.errors import HubbubError, RateLimited, Unavailable

T = TypeVar("T")
CAP = 30.0  # seconds between tries, at most
log = logging.getLogger("hubbub.runner")


def delay(error: HubbubError, attempt: int) -> float:
    """How long to wait before trying again after ``error`` (try ``attempt``, from 0)."""
    if isinstance(error, RateLimited) and error.retry_after > 0:
        return float(error.retry_after)
    return float(min(CAP, 0.25 * 2**attempt) * (0.5 + random.random() / 2))


async def persist(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, tried again until the hub answers; its refusals (4xx) are raised."""
    attempt = 0
    while True:
        try:
            return await call()
        except (Unavailable, RateLimited) as error:
            if attempt % 10 == 0:
                log.warning("cannot %s yet (%s); trying again", what, error)
            await asyncio.sleep(delay(error, attempt))
            attempt += 1
