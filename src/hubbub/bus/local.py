"""The in-process bus: one hub process, its subscribers in the same event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hubbub.core.events import StoredEvent
from hubbub.core.store import Store


class LocalSubscription:
    """A bounded queue of events for one subscriber."""

    def __init__(self, bus: LocalBus, backlog: int) -> None:
        self._bus = bus
        self._backlog = backlog
        self._pending: list[StoredEvent] = []
        self._ready = asyncio.Event()
        self.overflowed = False
        self.closed = False

    def offer(self, events: Sequence[StoredEvent]) -> None:
        if self.closed or self.overflowed:
            return
        if len(self._pending) + len(events) > self._backlog:
            self.overflowed = True
            self._pending.clear()
        else:
            self._pending.extend(events)
        self._ready.set()

    async def next_batch(self, wait_seconds: float | None) -> list[StoredEvent]:
        if not self._pending and not self.closed and not self.overflowed:
            try:
                await asyncio.wait_for(self._ready.wait(), wait_seconds)
            except TimeoutError:
                return []
        self._ready.clear()
        batch, self._pending = self._pending, []
        return batch

    def close(self) -> None:
        self.closed = True
        self._ready.set()
        self._bus.discard(self)


class LocalBus:
    """Fan-out to subscriptions in this process."""

    def __init__(self) -> None:
        self._subscriptions: set[LocalSubscription] = set()
        self._last_seq = 0
        self._closed = False

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def publish(self, events: Sequence[StoredEvent]) -> None:
        if not events:
            return
        self._last_seq = max(self._last_seq, events[-1].seq)
        for subscription in tuple(self._subscriptions):
            subscription.offer(events)

    def subscribe(self, backlog: int = 10_000) -> LocalSubscription:
        subscription = LocalSubscription(self, backlog)
        if self._closed:  # shutting down: nothing more will come
            subscription.close()
        else:
            self._subscriptions.add(subscription)
        return subscription

    def discard(self, subscription: LocalSubscription) -> None:
        self._subscriptions.discard(subscription)

    def close(self) -> None:
        self._closed = True
        for subscription in tuple(self._subscriptions):
            subscription.close()

    async def start(self, store: Store) -> None:
        """Nothing to start: the store publishes each commit here itself."""

    async def stop(self) -> None:
        self.close()

    @property
    def subscribers(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscriptions)
