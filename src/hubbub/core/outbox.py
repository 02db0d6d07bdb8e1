"""What the hub's two outboxes share: webhooks (:mod:`hubbub.core.webhooks`) and the messages
forwarded to remote A2A agents (:mod:`hubbub.core.a2a_remotes`).

Each has a dispatcher that reads the event log after a persisted cursor and queues items in the
write that moves it, and a sender that works each destination's items in order, one at a time,
under a lease (so across hub processes an item is attempted by one at a time), retrying with
backoff. :class:`OutboxWorker` is the loop around them: dispatch, start an attempt for each due
destination not already busy, sleep until the next is due, the bus wakes it, or the hub stops;
on stop, attempts under way get their timeout to finish.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

from hubbub.core.bus import EventBus
from hubbub.core.errors import Unavailable
from hubbub.core.events import StoredEvent

LEASE_MARGIN = 5.0  # seconds an attempt's claim outlives its timeout
PRUNE_EVERY = 60.0  # seconds between removals of finished items past their retention


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard a sender tries: timeouts, retries, backoff, and how long history is kept."""

    timeout_seconds: float = 10.0
    max_attempts: int = 16
    max_age_seconds: float = 24 * 3600.0
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 900.0
    poll_seconds: float = 1.0
    concurrency: int = 16
    retention_days: float = 30.0

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones: exponential, capped,
        with "equal jitter" (half fixed, half random) so failing receivers are not hit in
        lockstep."""
        full = min(self.backoff_max_seconds, self.backoff_seconds * 2.0 ** max(0, attempts - 1))
        return full / 2 + random.uniform(0, full / 2)

    def next_try(self, attempts: int, created_at: datetime) -> datetime | None:
        """When to try again after ``attempts`` failed ones of an item queued at
        ``created_at``; ``None`` once it has had its attempts or its age: give it up."""
        next_at = datetime.now(UTC) + timedelta(seconds=self.delay(attempts))
        age = (next_at - created_at).total_seconds()
        if attempts >= self.max_attempts or age > self.max_age_seconds:
            return None
        return next_at


class Due(Protocol):
    """An outbox item at the head of its destination's queue."""

    @property
    def next_attempt_at(self) -> datetime: ...


Head = TypeVar("Head", bound=Due)
Transport = TypeVar("Transport")


class OutboxWorker(abc.ABC, Generic[Head, Transport]):
    """The dispatcher and the sender of one outbox, run by :meth:`run` inside the hub process.
    ``Transport`` is what sends (supplied by the adapter that runs the hub)."""

    name: str  # in logs and task names
    log: logging.Logger

    def __init__(self, bus: EventBus | None, policy: RetryPolicy) -> None:
        self._bus = bus
        self.policy = policy
        self._wake = asyncio.Event()
        self._in_flight: dict[Hashable, asyncio.Task[None]] = {}

    def wake(self) -> None:
        """Look at the log and the outbox now rather than at the next poll."""
        self._wake.set()

    @abc.abstractmethod
    async def dispatch(self) -> int:
        """Queue the items of every event after the cursor; how many."""

    @abc.abstractmethod
    async def _heads(self, limit: int) -> Sequence[Head]:
        """The first pending item of each destination, soonest due first."""

    @abc.abstractmethod
    def _destination(self, head: Head) -> Hashable:
        """What one attempt at a time is allowed per."""

    @abc.abstractmethod
    async def _attempt(self, head: Head, transport: Transport) -> None:
        """Claim the item, try it, and record the outcome."""

    @abc.abstractmethod
    async def _prune(self, before: datetime) -> None:
        """Remove finished items older than ``before``."""

    @abc.abstractmethod
    def _wakes(self, event: StoredEvent) -> bool:
        """Whether a committed event may queue an item (and so should wake the loop)."""

    async def run(self, stop: asyncio.Event, transport: Transport) -> None:
        """Until ``stop``: dispatch new events and attempt what is due. On stop, attempts under
        way get ``timeout_seconds`` to finish; one cut short stays pending and is attempted
        again after a restart."""
        watcher = asyncio.create_task(self._watch_bus(stop), name=f"{self.name}-watch")
        last_prune = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                self._wake.clear()
                wait = self.policy.poll_seconds
                try:
                    await self.dispatch()
                    wait = min(wait, await self._send_due(transport))
                    if loop.time() - last_prune >= PRUNE_EVERY and self.policy.retention_days > 0:
                        last_prune = loop.time()
                        await self._prune(
                            datetime.now(UTC) - timedelta(days=self.policy.retention_days)
                        )
                except Unavailable as error:  # the database's trouble, said once a round
                    self.log.warning("%s round skipped: %s", self.name, error)
                except Exception:  # the next round may succeed; the hub keeps serving
                    self.log.exception("%s round failed", self.name)
                await first_of(stop, self._wake, max(wait, 0.01))
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self._drain()

    async def _send_due(self, transport: Transport) -> float:
        """Start an attempt for each due head whose destination is not busy; seconds until
        the next one falls due."""
        now = datetime.now(UTC)
        room = self.policy.concurrency - len(self._in_flight)
        wait = self.policy.poll_seconds
        for head in await self._heads(self.policy.concurrency * 4):
            destination = self._destination(head)
            if destination in self._in_flight:
                continue
            due_in = (head.next_attempt_at - now).total_seconds()
            if due_in > 0:
                wait = min(wait, due_in)
                continue
            if room <= 0:
                break
            room -= 1
            task = asyncio.create_task(self._attempt(head, transport), name=f"{self.name}-send")
            self._in_flight[destination] = task
            task.add_done_callback(functools.partial(self._finished, destination))
        return wait

    def _finished(self, destination: Hashable, _: object = None) -> None:
        self._in_flight.pop(destination, None)
        self._wake.set()

    async def _drain(self) -> None:
        """Give attempts under way their timeout to finish, then cut the rest short."""
        running = list(self._in_flight.values())
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=self.policy.timeout_seconds)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)

    async def _watch_bus(self, stop: asyncio.Event) -> None:
        """Wake the loop when an event that may queue an item commits, so it leaves at once."""
        if self._bus is None:
            return
        subscription = self._bus.subscribe(1000)
        try:
            while not stop.is_set() and not subscription.closed:
                batch = await subscription.next_batch(None)
                if subscription.overflowed or any(self._wakes(e) for e in batch):
                    self._wake.set()
                    if subscription.overflowed:
                        return  # polling carries on; the cursor never misses an event
        finally:
            subscription.close()


async def first_of(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Sleep until ``stop`` or ``wake`` is set, or ``seconds`` pass."""
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
