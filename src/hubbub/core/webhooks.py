"""Webhooks: task lifecycle events, from the event log to a durable outbox to each URL.

The dispatcher reads the log after its persisted cursor and, in the one write that moves the
cursor, puts a delivery in the outbox for each webhook an event is for: the webhook of the
integration that created the task, and the task's own callback URL. The sender posts each
destination's deliveries in order, one at a time, signed, retrying with exponential backoff
and jitter until a 2xx, until ``max_attempts`` or until ``max_age`` (then the delivery is
dead). Both work from the database alone, so a restarted hub carries on where it stopped.
The HTTP itself is a :class:`Poster`, supplied by the adapter that runs the hub; it refuses
destinations :mod:`hubbub.core.outbound` forbids, and such a delivery is dead at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

import orjson

from hubbub.core.a2a_tasks import push_deliveries
from hubbub.core.bus import EventBus
from hubbub.core.errors import InvalidInput, Unavailable
from hubbub.core.events import StoredEvent
from hubbub.core.store import DeliveryAttempt, DueDelivery, NewDelivery, Store

log = logging.getLogger("hubbub.webhooks")

TASK_EVENT_PREFIX = "task."
SIGNATURE_HEADER = "X-Hubbub-Signature"
FORBIDDEN_DESTINATION = "forbidden destination"  # a recorded error's start: refused, not sent
MAX_URL = 2000
SCAN_PAGE = 1000
LEASE_MARGIN = 5.0  # seconds an attempt's claim outlives its timeout


def check_url(url: str) -> str:
    """Validate a webhook URL: absolute ``http`` or ``https`` with a host, at most 2000
    characters."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        host = None
    if len(url) > MAX_URL or not host or parts.scheme not in ("http", "https"):
        raise InvalidInput(
            f"bad webhook URL {url[:100]!r}: use an absolute http:// or https:// URL",
            code="bad_webhook_url",
        )
    return url


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of
    ``"{timestamp}.{body}"`` under ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def headers(delivery_id: int, event_type: str, secret: str | None, body: bytes) -> dict[str, str]:
    """The headers of one attempt (signed when the webhook has a secret)."""
    timestamp = int(datetime.now(UTC).timestamp())
    found = {
        "Content-Type": "application/json",
        "User-Agent": "hubbub-webhooks",
        "X-Hubbub-Event": event_type,
        "X-Hubbub-Delivery": str(delivery_id),
        "X-Hubbub-Timestamp": str(timestamp),
    }
    if secret:
        found[SIGNATURE_HEADER] = sign(secret, timestamp, body)
    return found


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """How hard the sender tries: timeouts, retries, backoff, and how long history is kept."""

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


@dataclass(frozen=True, slots=True)
class PostResult:
    """What one HTTP attempt gave: a status (and for a failure, the start of the answer),
    or an error before any status came back; ``permanent`` when trying again cannot help
    (a forbidden destination).

    ``error`` starts with the hub's own words (``HTTP 503``, ``ConnectTimeout``,
    ``forbidden destination``); anything the receiver or the network said follows a ``": "``
    and is shown only to the admin (:func:`outcome`)."""

    status: int | None = None
    error: str | None = None
    permanent: bool = False


class Poster(Protocol):
    """Sends one webhook request, within its own timeout (the HTTP client lives with the
    adapter), only to an address the hub's :class:`~hubbub.core.outbound.OutboundPolicy`
    allows."""

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], *, allow_private: bool = False
    ) -> PostResult:
        """POST ``body`` to ``url`` (``allow_private``: a destination an admin registered,
        which may reach non-public addresses); never raises for what the network or
        receiver does."""
        ...


def outcome(error: str | None) -> str | None:
    """A recorded error without what the receiver or the network said: the hub's own words
    before the first ``": "`` (``HTTP 500``, ``ConnectError``, ``forbidden destination``).
    Whoever is not the admin sees only this, so a callback URL cannot be used to read
    what answers at some address."""
    return None if error is None else error.split(": ", 1)[0]


def deliveries_for(
    events: Sequence[StoredEvent],
    integration_hooks: dict[str, tuple[int, str]],
    task_hooks: dict[int, str],
) -> list[NewDelivery]:
    """Where each task event goes: to the webhook of the integration that created the task,
    and to the task's own callback URL."""
    found: list[NewDelivery] = []
    for event in events:
        if not event.type.startswith(TASK_EVENT_PREFIX):
            continue
        task = event.payload.get("task") or {}
        task_id = task.get("id")
        body = orjson.dumps(
            {
                "seq": event.seq,
                "type": event.type,
                "at": event.created_at,
                "data": event.payload,
            },
            option=orjson.OPT_UTC_Z,
        ).decode()
        hook = integration_hooks.get(str(task.get("created_by")))
        if hook is not None:
            integration_id, url = hook
            found.append(
                NewDelivery(
                    f"i:{integration_id}",
                    integration_id,
                    task_id,
                    url,
                    event.seq,
                    event.type,
                    body,
                )
            )
        callback = task_hooks.get(task_id) if isinstance(task_id, int) else None
        if callback is not None:
            found.append(
                NewDelivery(f"t:{task_id}", None, task_id, callback, event.seq, event.type, body)
            )
    return found


class WebhookService:
    """The dispatcher and the sender, run by :meth:`run` inside the hub process."""

    def __init__(
        self, store: Store, bus: EventBus | None, policy: WebhookPolicy | None = None
    ) -> None:
        self._store = store
        self._bus = bus
        self.policy = policy or WebhookPolicy()
        self._wake = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task[None]] = {}

    def wake(self) -> None:
        """Look at the log and the outbox now rather than at the next poll."""
        self._wake.set()

    async def dispatch(self) -> int:
        """Move every task event after the cursor into the outbox; how many deliveries."""
        queued = 0
        while True:
            scan = await self._store.webhook_scan(SCAN_PAGE)
            if scan.upto == scan.cursor:
                return queued
            new = deliveries_for(scan.events, scan.integration_hooks, scan.task_hooks)
            new += push_deliveries(scan.a2a_pushes)  # A2A push configs' (hubbub.core.a2a_tasks)
            if not await self._store.enqueue_deliveries(scan.cursor, scan.upto, new):
                return queued  # another dispatcher moved the cursor: it has these events
            queued += len(new)

    async def run(self, stop: asyncio.Event, poster: Poster) -> None:
        """Until ``stop``: dispatch new task events and send what is due. On stop, attempts
        under way get ``timeout_seconds`` to finish; an attempt cut short stays pending and is
        sent again (same ``X-Hubbub-Delivery``) after a restart."""
        watcher = asyncio.create_task(self._watch_bus(stop), name="webhook-watch")
        last_prune = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                self._wake.clear()
                wait = self.policy.poll_seconds
                try:
                    await self.dispatch()
                    wait = min(wait, await self._send_due(poster))
                    if loop.time() - last_prune >= 60 and self.policy.retention_days > 0:
                        last_prune = loop.time()
                        cutoff = datetime.now(UTC) - timedelta(days=self.policy.retention_days)
                        await self._store.prune_deliveries(cutoff)
                except Unavailable as error:  # the database's trouble, said once a round
                    log.warning("webhook round skipped: %s", error)
                except Exception:  # the next round may succeed; the hub keeps serving
                    log.exception("webhook round failed")
                await _first_of(stop, self._wake, max(wait, 0.01))
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self._drain()

    async def _send_due(self, poster: Poster) -> float:
        """Start an attempt for each due head not already in flight; seconds until the next
        one falls due."""
        now = datetime.now(UTC)
        room = self.policy.concurrency - len(self._in_flight)
        heads = await self._store.webhook_heads(self.policy.concurrency * 4)
        wait = self.policy.poll_seconds
        for head in heads:
            if head.destination in self._in_flight:
                continue
            due_in = (head.next_attempt_at - now).total_seconds()
            if due_in > 0:
                wait = min(wait, due_in)
                continue
            if room <= 0:
                break
            room -= 1
            task = asyncio.create_task(self._attempt(head, poster), name="webhook-send")
            self._in_flight[head.destination] = task
            task.add_done_callback(functools.partial(self._finished, head.destination))
        return wait

    def _finished(self, destination: str, _: object = None) -> None:
        self._in_flight.pop(destination, None)
        self._wake.set()

    async def _attempt(self, head: DueDelivery, poster: Poster) -> None:
        now = datetime.now(UTC)
        # The claim is a lease: should this process die mid-attempt, the delivery falls due
        # again once it runs out, and no other process sends it (or the next one) meanwhile.
        lease = now + timedelta(seconds=self.policy.timeout_seconds + LEASE_MARGIN)
        if not await self._store.claim_delivery(head.id, now, lease):
            return
        if head.revoked:
            await self._store.record_delivery(
                DeliveryAttempt(head.id, "dead", error="the integration was revoked", counts=False)
            )
            return
        body = head.body.encode()
        sent = headers(head.id, head.event_type, head.secret, body)
        try:
            result = await poster.post(head.url, body, sent, allow_private=head.allow_private)
        except asyncio.CancelledError:  # a shutdown cut it short: due again at the next start
            cut = DeliveryAttempt(
                head.id,
                "pending",
                error="cut short by a shutdown",
                next_attempt_at=datetime.now(UTC),
                counts=False,
            )
            await self._store.record_delivery(cut)
            raise
        except Exception as error:  # a poster bug must not stop the outbox
            log.exception("webhook attempt failed")
            result = PostResult(error=f"{type(error).__name__}: {error}")
        await self._store.record_delivery(self._outcome(head, result))

    def _outcome(self, head: DueDelivery, result: PostResult) -> DeliveryAttempt:
        if result.status is not None and 200 <= result.status < 300:
            return DeliveryAttempt(head.id, "delivered", http_status=result.status)
        if result.status is None:
            error = result.error or "no answer"
        else:
            error = f"HTTP {result.status}" + (f": {result.error}" if result.error else "")
        error = error[:500]
        if result.permanent:  # trying again would be refused again
            return DeliveryAttempt(head.id, "dead", http_status=result.status, error=error)
        attempts = head.attempts + 1
        now = datetime.now(UTC)
        next_at = now + timedelta(seconds=self.policy.delay(attempts))
        age = (next_at - head.created_at).total_seconds()
        if attempts >= self.policy.max_attempts or age > self.policy.max_age_seconds:
            return DeliveryAttempt(head.id, "dead", http_status=result.status, error=error)
        return DeliveryAttempt(
            head.id, "pending", http_status=result.status, error=error, next_attempt_at=next_at
        )

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
        """Wake the loop when a task event commits, so deliveries leave at once."""
        if self._bus is None:
            return
        subscription = self._bus.subscribe(1000)
        try:
            while not stop.is_set() and not subscription.closed:
                batch = await subscription.next_batch(None)
                if subscription.overflowed or any(
                    e.type.startswith(TASK_EVENT_PREFIX) for e in batch
                ):
                    self._wake.set()
                    if subscription.overflowed:
                        return  # polling carries on; the cursor never misses an event
        finally:
            subscription.close()


async def _first_of(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Sleep until ``stop`` or ``wake`` is set, or ``seconds`` pass."""
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
