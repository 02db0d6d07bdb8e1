"""A per-credential token bucket: ``rate`` requests a second, bursts up to ``burst``."""

from __future__ import annotations

import time

from hubbub.core.errors import RateLimited


class RateLimiter:
    """Token buckets keyed by credential; a rate of 0 turns limiting off."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._buckets: dict[int, tuple[float, float]] = {}

    def take(self, key: int) -> None:
        """Spend one token for ``key`` or raise :class:`RateLimited` with the wait."""
        if self.rate <= 0:
            return
        now = time.monotonic()
        tokens, stamp = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
            raise RateLimited(
                f"over {self.rate:g} requests a second for this key; retry in {wait:.2f}s",
                retry_after=wait,
            )
        self._buckets[key] = (tokens - 1.0, now)
