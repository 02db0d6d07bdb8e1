"""The event log: appended inside the writer's transaction, read back for replay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import psycopg
from psycopg.rows import DictRow

from hubbub.core.events import NewEvent, StoredEvent
from hubbub.store.postgres import rows

Conn = psycopg.AsyncConnection[DictRow]


class LogConnection(psycopg.AsyncConnection[DictRow]):
    """The writer's connection: remembers the events the current job appended, so the
    writer can publish exactly those of the jobs that committed."""

    appended: list[StoredEvent]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.appended = []


async def append(conn: Conn, events: Iterable[NewEvent]) -> None:
    """Append events in order. The writer holds the write lock, so their sequence numbers
    follow commit order (see engine.py)."""
    produced = list(events)
    if not produced:
        return
    now = rows.now_us()
    created = rows.to_time(now)
    cursor = await conn.execute(
        "INSERT INTO events (type, channel_id, agent_id, payload, created_at) "
        "SELECT t, c, a, p::json, %s FROM unnest(%s::text[], %s::bigint[], %s::bigint[], "
        "%s::text[]) WITH ORDINALITY AS e (t, c, a, p, n) ORDER BY n RETURNING seq",
        (
            now,
            [e.type for e in produced],
            [e.channel_id for e in produced],
            [e.agent_id for e in produced],
            [orjson.dumps(e.payload, option=orjson.OPT_UTC_Z).decode() for e in produced],
        ),
    )
    # Rows are inserted, and numbered, in ordinality order.
    seqs = sorted(row["seq"] for row in await cursor.fetchall())
    if isinstance(conn, LogConnection):
        conn.appended.extend(
            StoredEvent(seq, e.type, e.payload, created, e.channel_id, e.agent_id)
            for seq, e in zip(seqs, produced, strict=True)
        )


async def after(conn: Conn, seq: int, limit: int) -> list[StoredEvent]:
    """Up to ``limit`` events after ``seq``, oldest first."""
    cursor = await conn.execute(
        "SELECT seq, type, channel_id, agent_id, payload::text AS payload, created_at "
        "FROM events WHERE seq > %s ORDER BY seq LIMIT %s",
        (seq, limit),
    )
    return [
        StoredEvent(
            r["seq"],
            r["type"],
            orjson.loads(r["payload"]),
            rows.to_time(r["created_at"]),
            r["channel_id"],
            r["agent_id"],
        )
        for r in await cursor.fetchall()
    ]


async def first_seq(conn: Conn) -> int:
    """The oldest retained sequence number (0 for an empty log)."""
    return await rows.scalar(conn, "SELECT coalesce(min(seq), 0) FROM events")


async def last_seq(conn: Conn) -> int:
    """The newest sequence number (0 for an empty log)."""
    return await rows.scalar(conn, "SELECT coalesce(max(seq), 0) FROM events")


async def prune(conn: Conn, before_us: int) -> int:
    """Drop events created before ``before_us``, keeping the newest one so sequence numbers
    never restart."""
    cursor = await conn.execute(
        "DELETE FROM events WHERE created_at < %s AND seq < (SELECT max(seq) FROM events)",
        (before_us,),
    )
    return cursor.rowcount
