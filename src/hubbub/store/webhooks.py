"""The webhook outbox: the dispatcher's cursor over the event log, and one row per event per
destination, each destination delivered in id order."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict

from hubbub.core.events import task_subjects
from hubbub.core.models import WebhookDelivery
from hubbub.core.store import DeliveryAttempt, DeliveryQuery, DueDelivery, NewDelivery, WebhookScan
from hubbub.store import events as event_log
from hubbub.store.sql import Query, Row, Session
from hubbub.store.times import maybe_time, now_us, to_time, to_us

CURSOR = Query("SELECT seq FROM webhook_cursor WHERE id = 1")
# Only task events go out, so only their payloads are read.
EVENTS = Query(
    "SELECT seq, type, channel_id, agent_id, created_at, "
    "CASE WHEN type LIKE 'task.%' THEN payload END AS payload "
    "FROM events WHERE seq > :seq ORDER BY seq LIMIT :limit"
)
INTEGRATION_HOOKS = Query(
    lambda d: (
        "SELECT id, name, webhook_url FROM integrations "
        f"WHERE {d.any_of('name', 'names')} AND revoked_at IS NULL AND webhook_url IS NOT NULL"
    )
)
TASK_HOOKS = Query(
    lambda d: (
        "SELECT id, callback_url FROM tasks "
        f"WHERE {d.any_of('id', 'ids')} AND callback_url IS NOT NULL"
    )
)
ADVANCE = Query("UPDATE webhook_cursor SET seq = :upto WHERE id = 1 AND seq = :start")
HEADS = Query(
    "SELECT d.*, i.webhook_secret AS integration_secret, i.revoked_at, "
    "coalesce(i.allow_private, 0) AS allow_private, t.callback_secret AS task_secret "
    "FROM (SELECT min(id) AS id FROM webhook_deliveries WHERE status = 'pending' "
    "GROUP BY destination) h JOIN webhook_deliveries d ON d.id = h.id "
    "LEFT JOIN integrations i ON i.id = d.integration_id "
    "LEFT JOIN tasks t ON t.id = d.task_id AND d.integration_id IS NULL "
    "ORDER BY d.next_attempt_at, d.id LIMIT :limit"
)
CLAIM = Query(
    "UPDATE webhook_deliveries SET next_attempt_at = :until "
    "WHERE id = :id AND status = 'pending' AND next_attempt_at <= :now"
)
# The times arrive already chosen (or NULL, to keep or clear the column): see record().
RECORD = Query(
    "UPDATE webhook_deliveries SET status = :status, attempts = attempts + :counts, "
    "last_attempt_at = coalesce(CAST(:attempted AS BIGINT), last_attempt_at), "
    "last_status = :http_status, last_error = :error, "
    "next_attempt_at = coalesce(CAST(:next AS BIGINT), next_attempt_at), "
    "delivered_at = CAST(:delivered AS BIGINT) WHERE id = :id AND status = 'pending'"
)
PRUNE = Query("DELETE FROM webhook_deliveries WHERE created_at < :before AND status != 'pending'")
# Listing filters, by the DeliveryQuery field that sets each.
FILTERS = {
    "integration_id": "d.integration_id = :integration_id",
    "task_id": "d.task_id = :task_id AND d.integration_id IS NULL",
    "status": "d.status = :status",
    "before": "d.id < :before",
}


async def scan(conn: Session, limit: int) -> WebhookScan:
    """Read up to ``limit`` events after the cursor; decode only the task events."""
    start = int(await conn.value(CURSOR))
    read = await conn.rows(EVENTS, seq=start, limit=limit)
    events = [event_log.stored(r) for r in read if r["payload"] is not None]
    found = WebhookScan(start, read[-1]["seq"] if read else start, events)
    creators, task_ids = task_subjects(events)
    if creators:
        for r in await conn.rows(INTEGRATION_HOOKS, names=conn.dialect.array(creators)):
            found.integration_hooks[r["name"]] = (r["id"], r["webhook_url"])
    if task_ids:
        for r in await conn.rows(TASK_HOOKS, ids=conn.dialect.array(task_ids)):
            found.task_hooks[r["id"]] = r["callback_url"]
    return found


async def enqueue(conn: Session, start: int, upto: int, deliveries: Sequence[NewDelivery]) -> bool:
    """Move the cursor from ``start`` to ``upto`` and queue the deliveries found between;
    False, queueing nothing, if another dispatcher moved it first."""
    if not await conn.run(ADVANCE, upto=upto, start=start):
        return False
    # Each NewDelivery field is a column of the same name.
    times = dict.fromkeys(("next_attempt_at", "created_at"), now_us())
    await conn.insert(
        "webhook_deliveries", [asdict(d) | times for d in deliveries], ignore_conflicts=True
    )
    return True


async def heads(conn: Session, limit: int) -> list[DueDelivery]:
    """The oldest pending delivery per destination, with the secret that signs it and
    whether the admin let it reach non-public addresses."""
    return [
        DueDelivery(
            **{c: r[c] for c in ("id", "destination", "url", "body", "event_type", "attempts")},
            secret=r["integration_secret"] if r["integration_id"] is not None else r["task_secret"],
            created_at=to_time(r["created_at"]),
            next_attempt_at=to_time(r["next_attempt_at"]),
            revoked=r["revoked_at"] is not None,
            allow_private=bool(r["allow_private"]),
        )
        for r in await conn.rows(HEADS, limit=limit)
    ]


async def claim(conn: Session, delivery_id: int, now_us: int, until_us: int) -> bool:
    """Hold a due delivery until ``until_us`` while it is sent; False if it is not due."""
    return await conn.run(CLAIM, id=delivery_id, now=now_us, until=until_us) == 1


async def record(conn: Session, attempt: DeliveryAttempt) -> None:
    """Record an attempt on a delivery still pending."""
    now = now_us()
    await conn.run(
        RECORD,
        id=attempt.delivery_id,
        status=attempt.status,
        counts=1 if attempt.counts else 0,
        attempted=now if attempt.counts else None,
        http_status=attempt.http_status,
        error=attempt.error,
        next=None if attempt.next_attempt_at is None else to_us(attempt.next_attempt_at),
        delivered=now if attempt.status == "delivered" else None,
    )


async def listing(conn: Session, query: DeliveryQuery) -> list[WebhookDelivery]:
    """Deliveries matching ``query``, newest first."""
    params = {f: getattr(query, f) for f in FILTERS if getattr(query, f) is not None}
    found = await conn.rows(_listing(tuple(params)), **params, limit=query.limit)
    return [delivery(r) for r in found]


@functools.cache
def _listing(filters: tuple[str, ...]) -> Query:
    """The listing statement for one set of filters (each set rendered once)."""
    where = "".join(f" AND {FILTERS[f]}" for f in filters)
    return Query(
        "SELECT d.*, i.name AS integration FROM webhook_deliveries d "
        "LEFT JOIN integrations i ON i.id = d.integration_id "
        f"WHERE 1 = 1{where} ORDER BY d.id DESC LIMIT :limit"
    )


async def prune(conn: Session, before_us: int) -> int:
    """Drop finished deliveries created before ``before_us``."""
    return await conn.run(PRUNE, before=before_us)


def delivery(row: Row) -> WebhookDelivery:
    """A webhook_deliveries row (with its integration's name) as a model."""
    pending = row["status"] == "pending"
    return WebhookDelivery(
        **{c: row[c] for c in ("id", "integration", "task_id", "url", "event_seq", "event_type")},
        **{c: row[c] for c in ("status", "attempts", "last_status", "last_error")},
        **{c: maybe_time(row[c]) for c in ("created_at", "last_attempt_at", "delivered_at")},
        next_attempt_at=to_time(row["next_attempt_at"]) if pending else None,
    )
