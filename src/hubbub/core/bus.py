"""The event bus interface: committed events reach subscribers in commit order.

``hubbub.bus`` implements it: in-process for one hub process (LocalBus), and across hub
processes sharing a PostgreSQL database (PostgresBus).
A subscription holds a bounded backlog; a subscriber that falls further behind is marked
overflowed and must resume from the durable log by its cursor — nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hubbub.core.events import StoredEvent
from hubbub.core.store import Store


class Subscription(Protocol):
    """Events published after subscribing, in order."""

    overflowed: bool
    closed: bool

    async def next_batch(self, wait_seconds: float | None) -> list[StoredEvent]:
        """The events queued since the last call, waiting up to ``wait_seconds`` for one;
        ``[]`` when that passes, on overflow or once the bus closes."""
        ...

    def close(self) -> None:
        """Stop receiving."""


class EventBus(Protocol):
    """Fan-out of committed events."""

    @property
    def last_seq(self) -> int:
        """The highest sequence published so far."""
        ...

    def publish(self, events: Sequence[StoredEvent]) -> None:
        """Deliver committed events (called on the event loop, in commit order)."""

    def subscribe(self, backlog: int = 10_000) -> Subscription:
        """A new subscription that sees every event published from now on."""
        ...

    def close(self) -> None:
        """End every subscription (graceful shutdown)."""

    async def start(self, store: Store) -> None:
        """Begin delivering, once ``store`` is open (a bus that follows the store's event log,
        for hub processes sharing a database, starts reading it here)."""

    async def stop(self) -> None:
        """Close, and release whatever :meth:`start` acquired."""
