"""Counts of what the database holds, for operators (``/api/v1/stats``) and metrics."""

from __future__ import annotations

from hubbub.core.models import HubCounts
from hubbub.store.sql import Query, Session

AGENTS = Query("SELECT status, count(*) AS n FROM agents GROUP BY status")
CHANNELS = Query("SELECT count(*) FROM channels")
MESSAGES = Query("SELECT count(*) FROM messages WHERE deleted_at IS NULL")
TASKS = Query("SELECT status, count(*) AS n FROM tasks GROUP BY status")
FILES = Query("SELECT count(*) FROM files")
EVENTS = Query("SELECT count(*) FROM events")
DELIVERIES = Query("SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status")


async def _by(conn: Session, query: Query) -> dict[str, int]:
    return {row["status"]: row["n"] for row in await conn.rows(query)}


async def counts(conn: Session, everything: bool = True) -> HubCounts:
    """Each count; without ``everything`` only those over small tables (tasks, webhook
    deliveries), which a scrape every second may ask for."""
    tasks = await _by(conn, TASKS)
    deliveries = await _by(conn, DELIVERIES)
    if not everything:
        return HubCounts(
            agents={},
            channels=0,
            messages=0,
            tasks=tasks,
            files=0,
            events=0,
            webhook_deliveries=deliveries,
        )
    return HubCounts(
        agents=await _by(conn, AGENTS),
        channels=await conn.value(CHANNELS),
        messages=await conn.value(MESSAGES),
        tasks=tasks,
        files=await conn.value(FILES),
        events=await conn.value(EVENTS),
        webhook_deliveries=deliveries,
    )
