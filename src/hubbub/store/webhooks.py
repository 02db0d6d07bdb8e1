"""The webhook outbox: the dispatcher's cursor over the event log, and one row per event per
destination, each destination delivered in id order."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from hubbub.core.a2a_tasks import HUB_STATES
from hubbub.core.events import MESSAGE_POSTED, StoredEvent, task_subjects
from hubbub.core.models import WebhookDelivery
from hubbub.core.store import (
    A2APush,
    DeliveryAttempt,
    DeliveryQuery,
    DueDelivery,
    NewDelivery,
    WebhookScan,
)
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
# A2A push configs: those of the A2A tasks that asked for the hub tasks of the events…
A2A_TASK_PUSHES = Query(
    lambda d: (
        "SELECT p.id, p.url, t.id AS a2a_id, t.context_id, t.task_id "
        "FROM a2a_push_configs p JOIN a2a_tasks t ON t.id = p.task_id "
        f"WHERE {d.any_of('t.task_id', 'ids')}"
    )
)
# …the DMs where an A2A message waits for its reply with a push config…
A2A_WAITING = Query(
    lambda d: (
        "SELECT DISTINCT t.channel_id FROM a2a_push_configs p JOIN a2a_tasks t "
        f"ON t.id = p.task_id WHERE t.task_id IS NULL AND {d.any_of('t.channel_id', 'ids')}"
    )
)
POSTED = Query(
    lambda d: (
        "SELECT seq, type, channel_id, agent_id, created_at, payload FROM events "
        f"WHERE {d.any_of('seq', 'seqs')}"
    )
)
# …and those of the A2A messages a reply completes: its author's first message in their
# thread after them.
A2A_REPLIED = Query(
    "SELECT p.id, p.url, t.id AS a2a_id, t.context_id FROM a2a_push_configs p "
    "JOIN a2a_tasks t ON t.id = p.task_id JOIN agents a ON a.id = t.agent_id "
    "WHERE t.context_id = :root AND t.task_id IS NULL AND a.name = :author AND t.id < :message "
    "AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = :root "
    "AND m.author_id = t.agent_id AND m.id > t.id AND m.id < :message)"
)
# The task events that move an A2A task's state (to HUB_STATES of the task's status).
A2A_MOVES = frozenset(
    (
        "task.claimed",
        "task.released",
        "task.expired",
        "task.completed",
        "task.failed",
        "task.cancelled",
    )
)
ADVANCE = Query("UPDATE webhook_cursor SET seq = :upto WHERE id = 1 AND seq = :start")
HEADS = Query(
    "SELECT d.*, i.webhook_secret AS integration_secret, i.revoked_at, "
    "coalesce(i.allow_private, 0) AS allow_private, "
    "coalesce(t.callback_secret, ap.token) AS task_secret "
    "FROM (SELECT min(id) AS id FROM webhook_deliveries WHERE status = 'pending' "
    "GROUP BY destination) h JOIN webhook_deliveries d ON d.id = h.id "
    "LEFT JOIN integrations i ON i.id = d.integration_id "
    "LEFT JOIN tasks t ON t.id = d.task_id AND d.integration_id IS NULL "
    # An A2A push config's deliveries ('a:{id}') are signed with its token.
    "LEFT JOIN a2a_push_configs ap ON ap.id = CASE WHEN d.destination LIKE 'a:%' "
    "THEN CAST(substr(d.destination, 3) AS BIGINT) END "
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
    found.a2a_pushes.extend(await _a2a_pushes(conn, read, events, task_ids))
    return found


async def _a2a_pushes(
    conn: Session, read: Sequence[Row], events: list[StoredEvent], task_ids: list[int]
) -> list[A2APush]:
    """The A2A tasks with push configs whose state the scanned events change: the hub task
    they asked for moved, or the agent replied to their message."""
    found: list[A2APush] = []
    if task_ids:
        pushes: dict[int, list[Row]] = {}
        for r in await conn.rows(A2A_TASK_PUSHES, ids=conn.dialect.array(task_ids)):
            pushes.setdefault(int(r["task_id"]), []).append(r)
        for event in events:
            if event.type not in A2A_MOVES:
                continue
            task = event.payload.get("task") or {}
            state = HUB_STATES.get(str(task.get("status")))
            task_id = task.get("id")
            rows = pushes.get(task_id) if isinstance(task_id, int) else None
            if state is not None and rows:
                found += [_push(r, state, event.seq, event.created_at) for r in rows]
    posted = [r for r in read if r["type"] == MESSAGE_POSTED and r["channel_id"] is not None]
    if not posted:
        return found
    channels = conn.dialect.array(sorted({int(r["channel_id"]) for r in posted}))
    waiting = {int(r["channel_id"]) for r in await conn.rows(A2A_WAITING, ids=channels)}
    seqs = [int(r["seq"]) for r in posted if int(r["channel_id"]) in waiting]
    if not seqs:
        return found
    for r in await conn.rows(POSTED, seqs=conn.dialect.array(seqs)):
        event = event_log.stored(r)
        message = event.payload.get("message") or {}
        root = message.get("thread_id")
        if not isinstance(root, int):
            continue
        replied = await conn.rows(
            A2A_REPLIED, root=root, author=str(message.get("author")), message=message["id"]
        )
        found += [_push(p, "completed", event.seq, event.created_at) for p in replied]
    return found


def _push(row: Row, state: str, seq: int, at: datetime) -> A2APush:
    return A2APush(
        config_id=int(row["id"]),
        url=row["url"],
        task_id=int(row["a2a_id"]),
        context_id=int(row["context_id"]),
        state=state,
        event_seq=seq,
        at=at,
    )


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
