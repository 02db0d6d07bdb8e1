"""The event log: appended inside the writer's transaction, read back for replay."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from hubbub.core.events import NewEvent, StoredEvent
from hubbub.store.rows import loads
from hubbub.store.sql import Query, Row, Session
from hubbub.store.times import now_us, to_time

AFTER = Query(
    "SELECT seq, type, channel_id, agent_id, payload, created_at FROM events "
    "WHERE seq > :seq ORDER BY seq LIMIT :limit"
)
BEFORE = Query(
    "SELECT seq, type, channel_id, agent_id, payload, created_at FROM events "
    "WHERE seq < :seq ORDER BY seq DESC LIMIT :limit"
)
FIRST = Query("SELECT coalesce(min(seq), 0) FROM events")
LAST = Query("SELECT coalesce(max(seq), 0) FROM events")
# The newest event stays, so sequence numbers never restart.
PRUNE = Query(
    "DELETE FROM events WHERE created_at < :before AND seq < (SELECT max(seq) FROM events)"
)


async def append(conn: Session, events: Iterable[NewEvent]) -> None:
    """Append events in order. Their sequence numbers follow commit order: one writer at a
    time appends (on PostgreSQL, under the write lock; see its engine)."""
    produced = list(events)
    now = now_us()
    seqs = await conn.insert(
        "events",
        [
            {
                "type": e.type,
                "channel_id": e.channel_id,
                "agent_id": e.agent_id,
                "payload": orjson.dumps(e.payload, option=orjson.OPT_UTC_Z).decode(),
                "created_at": now,
            }
            for e in produced
        ],
        returning="seq",
    )
    if conn.appended is not None:
        created = to_time(now)
        conn.appended.extend(
            StoredEvent(seq, e.type, e.payload, created, e.channel_id, e.agent_id)
            for seq, e in zip(seqs, produced, strict=True)
        )


async def after(conn: Session, seq: int, limit: int) -> list[StoredEvent]:
    """Up to ``limit`` events after ``seq``, oldest first."""
    return [stored(r) for r in await conn.rows(AFTER, seq=seq, limit=limit)]


async def before(conn: Session, seq: int, limit: int) -> list[StoredEvent]:
    """Up to ``limit`` events before ``seq``, newest first."""
    return [stored(r) for r in await conn.rows(BEFORE, seq=seq, limit=limit)]


def stored(r: Row) -> StoredEvent:
    """An events row as read back."""
    payload, created = loads(r["payload"]), to_time(r["created_at"])
    return StoredEvent(r["seq"], r["type"], payload, created, r["channel_id"], r["agent_id"])


async def first_seq(conn: Session) -> int:
    """The oldest retained sequence number (0 for an empty log)."""
    return int(await conn.value(FIRST))


async def last_seq(conn: Session) -> int:
    """The newest sequence number (0 for an empty log)."""
    return int(await conn.value(LAST))


async def prune(conn: Session, before_us: int) -> int:
    """Drop events created before ``before_us``, keeping the newest one."""
    return await conn.run(PRUNE, before=before_us)
