"""The webhook outbox: the dispatcher's cursor over the event log, and one row per event per
destination, each destination delivered in id order."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from hubbub.core.events import StoredEvent, task_subjects
from hubbub.core.models import WebhookDelivery
from hubbub.core.store import (
    DeliveryAttempt,
    DeliveryQuery,
    DueDelivery,
    NewDelivery,
    WebhookScan,
)
from hubbub.store.sqlite import rows

TASK_EVENTS = "task.%"


def cursor(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT seq FROM webhook_cursor WHERE id = 1").fetchone()[0])


def scan(conn: sqlite3.Connection, limit: int) -> WebhookScan:
    """Read up to ``limit`` events after the cursor; decode only the task events."""
    start = cursor(conn)
    upto = start
    events: list[StoredEvent] = []
    for r in conn.execute(
        "SELECT seq, type, channel_id, agent_id, created_at, "
        "CASE WHEN type LIKE ? THEN payload END AS payload "
        "FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
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
        integration_hooks=_integration_hooks(conn, creators),
        task_hooks=_task_hooks(conn, task_ids),
    )


def _integration_hooks(conn: sqlite3.Connection, names: list[str]) -> dict[str, tuple[int, str]]:
    if not names:
        return {}
    marks = ",".join("?" * len(names))
    return {
        r["name"]: (r["id"], r["webhook_url"])
        for r in conn.execute(
            f"SELECT id, name, webhook_url FROM integrations WHERE name IN ({marks}) "
            "AND revoked_at IS NULL AND webhook_url IS NOT NULL",
            names,
        )
    }


def _task_hooks(conn: sqlite3.Connection, task_ids: list[int]) -> dict[int, str]:
    if not task_ids:
        return {}
    marks = ",".join("?" * len(task_ids))
    return {
        r["id"]: r["callback_url"]
        for r in conn.execute(
            f"SELECT id, callback_url FROM tasks WHERE id IN ({marks}) "
            "AND callback_url IS NOT NULL",
            task_ids,
        )
    }


def enqueue(
    conn: sqlite3.Connection, start: int, upto: int, deliveries: Sequence[NewDelivery]
) -> bool:
    moved = conn.execute(
        "UPDATE webhook_cursor SET seq = ? WHERE id = 1 AND seq = ?", (upto, start)
    ).rowcount
    if not moved:
        return False
    now = rows.now_us()
    conn.executemany(
        "INSERT OR IGNORE INTO webhook_deliveries (destination, integration_id, task_id, url, "
        "event_seq, event_type, body, next_attempt_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                d.destination,
                d.integration_id,
                d.task_id,
                d.url,
                d.event_seq,
                d.event_type,
                d.body,
                now,
                now,
            )
            for d in deliveries
        ],
    )
    return True


def heads(conn: sqlite3.Connection, limit: int) -> list[DueDelivery]:
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
        for r in conn.execute(
            "SELECT d.*, i.webhook_secret AS integration_secret, i.revoked_at, "
            "coalesce(i.allow_private, 0) AS allow_private, "
            "t.callback_secret AS task_secret "
            "FROM (SELECT min(id) AS id FROM webhook_deliveries WHERE status = 'pending' "
            "      GROUP BY destination) h "
            "JOIN webhook_deliveries d ON d.id = h.id "
            "LEFT JOIN integrations i ON i.id = d.integration_id "
            "LEFT JOIN tasks t ON t.id = d.task_id AND d.integration_id IS NULL "
            "ORDER BY d.next_attempt_at, d.id LIMIT ?",
            (limit,),
        )
    ]


def claim(conn: sqlite3.Connection, delivery_id: int, now_us: int, until_us: int) -> bool:
    return (
        conn.execute(
            "UPDATE webhook_deliveries SET next_attempt_at = ? "
            "WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?",
            (until_us, delivery_id, now_us),
        ).rowcount
        == 1
    )


def record(conn: sqlite3.Connection, attempt: DeliveryAttempt) -> None:
    now = rows.now_us()
    conn.execute(
        "UPDATE webhook_deliveries SET status = ?, attempts = attempts + ?, "
        "last_attempt_at = CASE WHEN ? THEN ? ELSE last_attempt_at END, "
        "last_status = ?, last_error = ?, "
        "next_attempt_at = coalesce(?, next_attempt_at), "
        "delivered_at = CASE WHEN ? = 'delivered' THEN ? END "
        "WHERE id = ? AND status = 'pending'",
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


def listing(conn: sqlite3.Connection, query: DeliveryQuery) -> list[WebhookDelivery]:
    where = ["1"]
    args: list[Any] = []
    if query.integration_id is not None:
        where.append("d.integration_id = ?")
        args.append(query.integration_id)
    if query.task_id is not None:
        where.append("d.task_id = ? AND d.integration_id IS NULL")
        args.append(query.task_id)
    if query.status is not None:
        where.append("d.status = ?")
        args.append(query.status)
    if query.before is not None:
        where.append("d.id < ?")
        args.append(query.before)
    sql = (
        "SELECT d.*, i.name AS integration FROM webhook_deliveries d "
        "LEFT JOIN integrations i ON i.id = d.integration_id "
        f"WHERE {' AND '.join(where)} ORDER BY d.id DESC LIMIT ?"
    )
    return [delivery(r) for r in conn.execute(sql, (*args, query.limit))]


def prune(conn: sqlite3.Connection, before_us: int) -> int:
    return conn.execute(
        "DELETE FROM webhook_deliveries WHERE created_at < ? AND status != 'pending'",
        (before_us,),
    ).rowcount


def delivery(row: sqlite3.Row) -> WebhookDelivery:
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
