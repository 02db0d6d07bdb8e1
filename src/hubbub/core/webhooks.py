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
import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

import orjson

from hubbub.core.a2a_tasks import push_deliveries
from hubbub.core.bus import EventBus
from hubbub.core.errors import InvalidInput
from hubbub.core.events import StoredEvent
from hubbub.core.outbox import LEASE_MARGIN, OutboxWorker, RetryPolicy
from hubbub.core.store import DeliveryAttempt, DueDelivery, NewDelivery, Store

log = logging.getLogger("hubbub.webhooks")

TASK_EVENT_PREFIX = "task."
SIGNATURE_HEADER = "X-Hubbub-Signature"
FORBIDDEN_DESTINATION = "forbidden destination"  # a recorded error's start: refused, not sent
MAX_URL = 2000
SCAN_PAGE = 1000


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


WebhookPolicy = RetryPolicy  # the webhook sender's timeouts, retries, backoff and history


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


class WebhookService(OutboxWorker[DueDelivery, Poster]):
    """The dispatcher and the sender, run by :meth:`run` inside the hub process."""

    name = "webhook"
    log = log

    def __init__(
        self, store: Store, bus: EventBus | None, policy: WebhookPolicy | None = None
    ) -> None:
        super().__init__(bus, policy or WebhookPolicy())
        self._store = store

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

    async def _heads(self, limit: int) -> Sequence[DueDelivery]:
        return await self._store.webhook_heads(limit)

    def _destination(self, head: DueDelivery) -> str:
        return head.destination

    async def _prune(self, before: datetime) -> None:
        await self._store.prune_deliveries(before)

    def _wakes(self, event: StoredEvent) -> bool:
        return event.type.startswith(TASK_EVENT_PREFIX)

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
        # Permanent: trying again would be refused again.
        next_at = (
            None if result.permanent else self.policy.next_try(head.attempts + 1, head.created_at)
        )
        if next_at is None:
            return DeliveryAttempt(head.id, "dead", http_status=result.status, error=error)
        return DeliveryAttempt(
            head.id, "pending", http_status=result.status, error=error, next_attempt_at=next_at
        )
