"""A per-credential token bucket: ``rate`` requests a second, bursts up to ``burst``."""

from __future__ import annotations

import time
from collections.abc import Hashable

from hubbub.core.errors import RateLimited


class RateLimiter:
    """Token buckets keyed by credential; a rate of 0 turns limiting off."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._buckets: dict[Hashable, tuple[float, float]] = {}
        self.refused = 0
        """Requests refused since start (for metrics)."""

    def take(self, key: Hashable, *, rate: float | None = None, burst: float | None = None) -> None:
        """Spend one token for ``key`` or raise :class:`RateLimited` with the wait; ``rate``
        and ``burst`` override the defaults for this key (an integration's own limit)."""
        rate = self.rate if rate is None else rate
        burst = self.burst if burst is None else max(burst, 1.0)
        if rate <= 0:
            return
        now = time.monotonic()
        tokens, stamp = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - stamp) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            self.refused += 1
            wait = (1.0 - tokens) / rate
            raise RateLimited(
                # No wait in the words: retry_after carries it, rounded as the wire says it.
                f"over {rate:g} requests a second for this key",
                retry_after=wait,
            )
        self._buckets[key] = (tokens - 1.0, now)
