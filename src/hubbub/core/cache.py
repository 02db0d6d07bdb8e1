"""A small in-process cache whose entries expire, for hot-path lookups that may be briefly
stale (keys, agents, channels)."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Entries live ``seconds``; past ``max_size`` entries the cache starts afresh."""

    def __init__(self, seconds: float, max_size: int = 10_000) -> None:
        self.seconds = seconds
        self.max_size = max_size
        self._entries: dict[K, tuple[float, V]] = {}

    def entry(self, key: K) -> tuple[V] | None:
        """``(value,)`` if ``key`` holds a fresh value (which may itself be ``None``)."""
        hit = self._entries.get(key)
        if hit is None or hit[0] <= time.monotonic():
            return None
        return (hit[1],)

    def put(self, key: K, value: V) -> None:
        """Remember ``value`` for ``seconds``."""
        if len(self._entries) >= self.max_size:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.seconds, value)

    def forget(self, key: K) -> None:
        """Drop one entry."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
