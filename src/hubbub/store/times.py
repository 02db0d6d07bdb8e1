"""How every engine stores time: integer microseconds since the Unix epoch, UTC."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_us() -> int:
    """The current time in integer microseconds, as stored."""
    return time.time_ns() // 1000


def to_time(us: int) -> datetime:
    """A stored time as an aware UTC datetime."""
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def to_us(value: datetime) -> int:
    """An aware datetime as stored microseconds."""
    return int(value.timestamp() * 1_000_000)


def maybe_time(us: int | None) -> datetime | None:
    """A stored time that may be missing."""
    return None if us is None else to_time(us)
