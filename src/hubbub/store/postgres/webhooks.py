"""The webhook outbox: the dispatcher's cursor over the event log, and one row per event per
destination, each destination delivered in id order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from psycopg.rows import DictRow

from hubbub.core.events import StoredEvent, task_subjects
from hubbub.core.models import WebhookDelivery
from hubbub.core.store import (
    DeliveryAttempt,
    DeliveryQuery,
    DueDelivery,
    NewDelivery,
    WebhookScan,
)
from hubbub.store.postgres import rows
from hubbub.store.postgres.rows import Conn

TASK_EVENTS = "task.%"


async def cursor(conn: Conn) -> int:
    return await rows.scalar(conn, "SELECT seq FROM webhook_cursor WHERE id = 1")


async def scan(conn: Conn, limit: int) -> WebhookScan:
    """Read up to ``limit`` events after the cursor; decode only the task events."""
    start = await cursor(conn)
    upto = start
    events: list[StoredEvent] = []
    for r in await rows.all_rows(
        conn,
        "SELECT seq, type, channel_id, agent_id, created_at, "
        "CASE WHEN type LIKE %s THEN payload::text END AS payload "
        "FROM events WHERE seq > %s ORDER BY seq LIMIT %s",
        (TASK_EVENTS, start, limit),
    ):
        upto = r["seq"]
        if r["payload"] is not None:
            events.append(
                StoredEvent(
                    r["seq"],
                    r["type"],
                    orjson.loads(r["payload"]),
                    rows.to_time(r["created_at"]),
                    r["channel_id"],
                    r["agent_id"],
                )
            )
    if not events:
        return WebhookScan(start, upto, [])
    creators, task_ids = task_subjects(events)
    return WebhookScan(
        start,
        upto,
        events,
        integration_hooks=await _integration_hooks(conn, creators),
        task_hooks=await _task_hooks(conn, task_ids),
    )


async def _integration_hooks(conn: Conn, names: list[str]) -> dict[str, tuple[int, str]]:
    if not names:
        return {}
    return {
        r["name"]: (r["id"], r["webhook_url"])
        for r in await rows.all_rows(
            conn,
            "SELECT id, name, webhook_url FROM integrations WHERE name = ANY(%s::text[]) "
            "AND revoked_at IS NULL AND webhook_url IS NOT NULL",
            (names,),
        )
    }


async def _task_hooks(conn: Conn, task_ids: list[int]) -> dict[int, str]:
    if not task_ids:
        return {}
    return {
        r["id"]: r["callback_url"]
        for r in await rows.all_rows(
            conn,
            "SELECT id, callback_url FROM tasks WHERE id = ANY(%s::bigint[]) "
            "AND callback_url IS NOT NULL",
            (task_ids,),
        )
    }


async def enqueue(conn: Conn, start: int, upto: int, deliveries: Sequence[NewDelivery]) -> bool:
    moved = await conn.execute(
        "UPDATE webhook_cursor SET seq = %s WHERE id = 1 AND seq = %s", (upto, start)
    )
    if not moved.rowcount:
        return False
    if not deliveries:
        return True
    now = rows.now_us()
    await conn.execute(
        "INSERT INTO webhook_deliveries (destination, integration_id, task_id, url, "
        "event_seq, event_type, body, next_attempt_at, created_at) "
        "SELECT d, i, t, u, s, e, b, %s, %s FROM unnest(%s::text[], %s::bigint[], "
        "%s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::text[]) WITH ORDINALITY "
        "AS x (d, i, t, u, s, e, b, n) ORDER BY n ON CONFLICT DO NOTHING",
        (
            now,
            now,
            [d.destination for d in deliveries],
            [d.integration_id for d in deliveries],
            [d.task_id for d in deliveries],
            [d.url for d in deliveries],
            [d.event_seq for d in deliveries],
            [d.event_type for d in deliveries],
            [d.body for d in deliveries],
        ),
    )
    return True


async def heads(conn: Conn, limit: int) -> list[DueDelivery]:
    """The oldest pending delivery per destination, with the secret that signs it and
    whether the admin let it reach non-public addresses."""
    return [
        DueDelivery(
            id=r["id"],
            destination=r["destination"],
            url=r["url"],
            body=r["body"],
            event_type=r["event_type"],
            secret=r["integration_secret"] if r["integration_id"] is not None else r["task_secret"],
            attempts=r["attempts"],
            created_at=rows.to_time(r["created_at"]),
            next_attempt_at=rows.to_time(r["next_attempt_at"]),
            revoked=r["revoked_at"] is not None,
            allow_private=bool(r["allow_private"]),
        )
        for r in await rows.all_rows(
            conn,
            "SELECT d.*, i.webhook_secret AS integration_secret, i.revoked_at, "
            "coalesce(i.allow_private, 0) AS allow_private, "
            "t.callback_secret AS task_secret "
            "FROM (SELECT min(id) AS id FROM webhook_deliveries WHERE status = 'pending' "
            "      GROUP BY destination) h "
            "JOIN webhook_deliveries d ON d.id = h.id "
            "LEFT JOIN integrations i ON i.id = d.integration_id "
            "LEFT JOIN tasks t ON t.id = d.task_id AND d.integration_id IS NULL "
            "ORDER BY d.next_attempt_at, d.id LIMIT %s",
            (limit,),
        )
    ]


async def claim(conn: Conn, delivery_id: int, now_us: int, until_us: int) -> bool:
    done = await conn.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = %s "
        "WHERE id = %s AND status = 'pending' AND next_attempt_at <= %s",
        (until_us, delivery_id, now_us),
    )
    return done.rowcount == 1


async def record(conn: Conn, attempt: DeliveryAttempt) -> None:
    now = rows.now_us()
    await conn.execute(
        "UPDATE webhook_deliveries SET status = %s, attempts = attempts + %s, "
        "last_attempt_at = CASE WHEN %s THEN %s::bigint ELSE last_attempt_at END, "
        "last_status = %s, last_error = %s, "
        "next_attempt_at = coalesce(%s::bigint, next_attempt_at), "
        "delivered_at = CASE WHEN %s::text = 'delivered' THEN %s::bigint END "
        "WHERE id = %s AND status = 'pending'",
        (
            attempt.status,
            1 if attempt.counts else 0,
            attempt.counts,
            now,
            attempt.http_status,
            attempt.error,
            None if attempt.next_attempt_at is None else rows.to_us(attempt.next_attempt_at),
            attempt.status,
            now,
            attempt.delivery_id,
        ),
    )


async def listing(conn: Conn, query: DeliveryQuery) -> list[WebhookDelivery]:
    where = ["true"]
    args: list[Any] = []
    if query.integration_id is not None:
        where.append("d.integration_id = %s")
        args.append(query.integration_id)
    if query.task_id is not None:
        where.append("d.task_id = %s AND d.integration_id IS NULL")
        args.append(query.task_id)
    if query.status is not None:
        where.append("d.status = %s")
        args.append(query.status)
    if query.before is not None:
        where.append("d.id < %s")
        args.append(query.before)
    sql = (
        "SELECT d.*, i.name AS integration FROM webhook_deliveries d "
        "LEFT JOIN integrations i ON i.id = d.integration_id "
        f"WHERE {' AND '.join(where)} ORDER BY d.id DESC LIMIT %s"
    )
    return [delivery(r) for r in await rows.all_rows(conn, sql, (*args, query.limit))]


async def prune(conn: Conn, before_us: int) -> int:
    done = await conn.execute(
        "DELETE FROM webhook_deliveries WHERE created_at < %s AND status != 'pending'",
        (before_us,),
    )
    return done.rowcount


def delivery(row: DictRow) -> WebhookDelivery:
    """A webhook_deliveries row (with its integration's name) as a model."""
    pending = row["status"] == "pending"
    return WebhookDelivery(
        id=row["id"],
        integration=row["integration"],
        task_id=row["task_id"],
        url=row["url"],
        event_seq=row["event_seq"],
        event_type=row["event_type"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=rows.to_time(row["next_attempt_at"]) if pending else None,
        last_attempt_at=rows.maybe_time(row["last_attempt_at"]),
        last_status=row["last_status"],
        last_error=row["last_error"],
        created_at=rows.to_time(row["created_at"]),
        delivered_at=rows.maybe_time(row["delivered_at"]),
    )
