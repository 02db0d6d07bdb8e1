"""What a hub process counts about itself while it works, for its metrics: plain numbers kept
by the code that does the work (the store's writer, the event feed, the rate limiter) and read
only when someone asks. Nothing here knows an exposition format; ``server/metrics.py`` turns
these figures into Prometheus families at each scrape.

Keeping a figure costs an addition or a bisection: no lock, no allocation, nothing per label.
The writer's figures are kept on its own thread and read on the event loop; a read may be one
batch behind, never torn in a way that matters for a monitoring graph."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Seconds a commit (SQLite: with its fsync) or a wait for PostgreSQL's write lock may take.
SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Writes one batch may carry.
SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000)


class Buckets:
    """A histogram's running state: how many observations fell at or under each bound, their
    count and their sum. ``counts[i]`` holds those in ``(bounds[i-1], bounds[i]]``; the last
    slot holds those above every bound."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value

    def cumulative(self) -> list[tuple[float, int]]:
        """``(bound, observations at or under it)`` for each bound, then ``(inf, count)``."""
        total = 0
        pairs: list[tuple[float, int]] = []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += count
            pairs.append((bound, total))
        return pairs


@dataclass
class WriterTelemetry:
    """The write path of one hub process: batches committed and refused, their sizes, how
    long each took to commit and, on PostgreSQL, to take the cluster-wide write lock."""

    batches: int = 0
    writes: int = 0
    refused_batches: int = 0
    failing: bool = False
    """The database refused the last batch (until one commits again)."""
    batch_sizes: Buckets = field(default_factory=lambda: Buckets(SIZES))
    commit_seconds: Buckets = field(default_factory=lambda: Buckets(SECONDS))
    lock_wait_seconds: Buckets | None = None
    """PostgreSQL only: the wait for the write lock at the start of each batch."""
    queued: Callable[[], int] = lambda: 0
    """Writes waiting for the writer now."""
    pool: Callable[[], dict[str, int]] | None = None
    """PostgreSQL only: the reader pool's figures (``size``, ``available``, ``waiting``)."""

    def committed(self, size: int, seconds: float) -> None:
        """Count a batch of ``size`` writes that took ``seconds`` to run and commit."""
        self.batches += 1
        self.writes += size
        self.batch_sizes.observe(size)
        self.commit_seconds.observe(seconds)
        self.failing = False

    def refused(self, size: int) -> None:
        """Count a batch the database refused as a whole."""
        self.batches += 1
        self.writes += size
        self.refused_batches += 1
        self.failing = True


class EventCounts:
    """Events committed by this process, by type (every state change appends one)."""

    __slots__ = ("by_type",)

    def __init__(self) -> None:
        self.by_type: dict[str, int] = {}

    def count(self, types: Sequence[str]) -> None:
        by_type = self.by_type
        for kind in types:
            by_type[kind] = by_type.get(kind, 0) + 1
