"""Retention: which messages are past their channel's (or the hub's) age, and finished tasks
past theirs; removing them goes through :func:`hubbub.store.purge.purge_messages` and
:func:`purge_tasks`, one bounded batch a write.

Messages carry no index on their time: ids grow with it, so the newest message older than a
cut-off is found by a binary search over ids (a point lookup a step), and each batch is then
selected by id, on the primary key or the channel's index."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hubbub.core.errors import NotFound
from hubbub.core.models import Channel
from hubbub.store import channels, purge
from hubbub.store.sql import Query, Session
from hubbub.store.times import now_us, to_us

ID_RANGE = Query("SELECT coalesce(min(id), 0) AS low, coalesce(max(id), 0) AS high FROM messages")
FIRST_FROM = Query("SELECT id, created_at FROM messages WHERE id >= :id ORDER BY id LIMIT 1")
RULED = Query(
    "SELECT id, name, retention_days FROM channels WHERE retention_days IS NOT NULL ORDER BY id"
)
COUNT_UNRULED = Query(
    "SELECT count(*) FROM messages WHERE id <= :up_to "
    "AND channel_id IN (SELECT id FROM channels WHERE retention_days IS NULL)"
)
COUNT_IN = Query("SELECT count(*) FROM messages WHERE channel_id = :channel AND id <= :up_to")
FINISHED = "status IN ('done', 'failed', 'cancelled') AND updated_at < :before"
COUNT_TASKS = Query(f"SELECT count(*) FROM tasks WHERE {FINISHED}")
TASKS_DUE = Query(f"SELECT id FROM tasks WHERE {FINISHED} ORDER BY id LIMIT :limit")
TASK_EVENTS = Query(
    lambda d: (
        "DELETE FROM events WHERE "
        + d.any_of(
            "json_extract(payload, '$.task.id')"
            if d.name == "sqlite"
            else "CAST(payload -> 'task' ->> 'id' AS bigint)",
            "ids",
        )
        + " RETURNING seq"
    )
)
SET_RETENTION = Query("UPDATE channels SET retention_days = :days WHERE id = :id")


async def boundary(conn: Session, before: datetime) -> int:
    """The id of the newest message created before ``before`` (0: none)."""
    before_us = to_us(before)
    span = await conn.row(ID_RANGE)
    assert span is not None
    low, high, found = int(span["low"]), int(span["high"]), 0
    while low <= high:
        middle = (low + high) // 2
        row = await conn.row(FIRST_FROM, id=middle)
        if row is None:
            high = middle - 1
        elif int(row["created_at"]) < before_us:
            found, low = int(row["id"]), int(row["id"]) + 1
        else:
            high = middle - 1
    return found


async def ruled(conn: Session) -> list[tuple[int, str, float]]:
    """The channels with a retention of their own: (id, name, days)."""
    return [
        (int(r["id"]), str(r["name"]), float(r["retention_days"])) for r in await conn.rows(RULED)
    ]


async def count_messages(conn: Session, up_to: int, channel_id: int | None) -> int:
    """Messages up to ``up_to`` in ``channel_id``, or (``None``) in the channels without a
    retention of their own."""
    if up_to <= 0:
        return 0
    if channel_id is None:
        return int(await conn.value(COUNT_UNRULED, up_to=up_to))
    return int(await conn.value(COUNT_IN, channel=channel_id, up_to=up_to))


async def count_tasks(conn: Session, before: datetime) -> int:
    return int(await conn.value(COUNT_TASKS, before=to_us(before)))


async def purge_tasks(conn: Session, before: datetime, limit: int) -> int:
    """Remove up to ``limit`` tasks finished before ``before``, with their idempotency keys,
    webhook deliveries and events; how many (0: none is left)."""
    found = [int(r["id"]) for r in await conn.rows(TASKS_DUE, before=to_us(before), limit=limit)]
    if not found:
        return 0
    ids = conn.dialect.array(found)
    await conn.run(purge.TASK_KEYS, ids=ids)
    await conn.run(purge.DELIVERIES, ids=ids)
    removed: Sequence[int] = [int(r["seq"]) for r in await conn.rows(TASK_EVENTS, ids=ids)]
    await conn.run(purge.TASKS, ids=ids)
    if removed:
        await conn.run(purge.HOLE, first=min(removed), last=max(removed), now=now_us())
    return len(found)


async def set_channel_retention(conn: Session, name: str, days: float | None) -> Channel:
    """Give channel ``name`` a retention of its own (``None``: the hub's again)."""
    found = await channels.by_name(conn, name)
    if found is None:
        raise NotFound(f"no channel named {name!r}", code="channel_not_found")
    await conn.run(SET_RETENTION, id=found.id, days=days)
    changed = await channels.by_name(conn, name)
    assert changed is not None
    return changed
