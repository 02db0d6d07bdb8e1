"""Appending to the event log inside the writer's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import orjson

from hubbub.core.events import NewEvent
from hubbub.store.sqlite.rows import now_us


def append(conn: sqlite3.Connection, events: Iterable[NewEvent]) -> None:
    """Append events in order; their sequence numbers follow commit order."""
    now = now_us()
    conn.executemany(
        "INSERT INTO events (type, channel_id, agent_id, payload, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            (
                e.type,
                e.channel_id,
                e.agent_id,
                orjson.dumps(e.payload, option=orjson.OPT_UTC_Z),
                now,
            )
            for e in events
        ],
    )
