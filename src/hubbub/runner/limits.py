"""How much a runner takes on: runs per sender and per thread in a sliding hour, the hop
limit that keeps runners from answering each other for ever, and the allow-list of senders.

The counts live in the runner's memory: a restart starts them afresh. The hop limit needs no
memory at all: it reads the authors the hub stamped on the thread and whether the hub has
them marked as runners."""

from __future__ import annotations

import fnmatch
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WINDOW = 3600.0  # seconds the per-sender and per-thread counts look back
SENDER_LIMIT = 30  # runs per sender per hour, by default
THREAD_LIMIT = 20  # runs per thread (a DM, a mention's thread) per hour, by default
HOP_LIMIT = 4  # consecutive runner-written messages after which runners stop answering


class Window:
    """Events per key within the last ``seconds``."""

    def __init__(self, limit: int, seconds: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        times = self._seen.setdefault(key, deque())
        cutoff = self._clock() - self.seconds
        while times and times[0] <= cutoff:
            times.popleft()
        return times

    def full(self, key: str) -> bool:
        """True if ``key`` has used up its limit."""
        return self.limit > 0 and len(self._recent(key)) >= self.limit

    def add(self, key: str) -> None:
        """Count one more for ``key``."""
        self._recent(key).append(self._clock())


@dataclass
class Limits:
    """Per-sender and per-thread run limits (0 turns one off) and the hop limit."""

    sender_limit: int = SENDER_LIMIT
    thread_limit: int = THREAD_LIMIT
    hop_limit: int = HOP_LIMIT
    clock: Callable[[], float] = time.monotonic
    _senders: Window = field(init=False)
    _threads: Window = field(init=False)
    _told: Window = field(init=False)

    def __post_init__(self) -> None:
        self._senders = Window(self.sender_limit, WINDOW, self.clock)
        self._threads = Window(self.thread_limit, WINDOW, self.clock)
        # One note per sender or thread per window says it is limited; the rest are quiet.
        self._told = Window(1, WINDOW, self.clock)

    def refusal(self, sender: str, thread: str) -> str | None:
        """Why a run for ``sender`` in ``thread`` may not start now, or ``None``."""
        if self._senders.full(sender):
            return f"@{sender} has had {self.sender_limit} runs in the last hour (the limit)"
        if self._threads.full(thread):
            return (
                f"this conversation has had {self.thread_limit} runs in the last hour (the limit)"
            )
        return None

    def tell(self, sender: str, thread: str) -> bool:
        """True the first time in a window that a refusal for this sender and thread should
        be said in a reply; later refusals are only logged."""
        key = f"{sender}\n{thread}"
        if self._told.full(key):
            return False
        self._told.add(key)
        return True

    def count(self, sender: str, thread: str) -> None:
        """Count a run for ``sender`` in ``thread``."""
        self._senders.add(sender)
        self._threads.add(thread)

    def hops_exceeded(self, authors: Sequence[str], runners: set[str]) -> bool:
        """True if the last ``hop_limit`` messages (``authors``, oldest first, the request
        last) were all written by runners; a hop limit of 0 turns the check off."""
        if self.hop_limit <= 0 or len(authors) < self.hop_limit:
            return False
        return all(author in runners for author in authors[-self.hop_limit :])


def allowed(sender: str, patterns: Sequence[str]) -> bool:
    """True if ``sender`` matches one of ``patterns`` (names, or ``lap-*`` globs); every
    sender is allowed when there are none."""
    return not patterns or any(fnmatch.fnmatchcase(sender, p) for p in patterns)
