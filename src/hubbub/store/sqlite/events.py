"""The event log: appended inside the writer's transaction, read back for replay."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import orjson

from hubbub.core.events import NewEvent, StoredEvent
from hubbub.store.sqlite import rows


class LogConnection(sqlite3.Connection):
    """The writer's connection: remembers the events the current job appended, so the
    writer can publish exactly those of the jobs that committed."""

    appended: list[StoredEvent]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.appended = []


def append(conn: sqlite3.Connection, events: Iterable[NewEvent]) -> None:
    """Append events in order; their sequence numbers follow commit order."""
    now = rows.now_us()
    created = rows.to_time(now)
    for event in events:
        seq = conn.execute(
            "INSERT INTO events (type, channel_id, agent_id, payload, created_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING seq",
            (
                event.type,
                event.channel_id,
                event.agent_id,
                orjson.dumps(event.payload, option=orjson.OPT_UTC_Z).decode(),
                now,
            ),
        ).fetchone()[0]
        if isinstance(conn, LogConnection):
            conn.appended.append(
                StoredEvent(
                    seq, event.type, event.payload, created, event.channel_id, event.agent_id
                )
            )


def after(conn: sqlite3.Connection, seq: int, limit: int) -> list[StoredEvent]:
    """Up to ``limit`` events after ``seq``, oldest first."""
    return [
        StoredEvent(
            r["seq"],
            r["type"],
            orjson.loads(r["payload"]),
            rows.to_time(r["created_at"]),
            r["channel_id"],
            r["agent_id"],
        )
        for r in conn.execute(
            "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
    ]


def first_seq(conn: sqlite3.Connection) -> int:
    """The oldest retained sequence number (0 for an empty log)."""
    return int(conn.execute("SELECT coalesce(min(seq), 0) FROM events").fetchone()[0])


def prune(conn: sqlite3.Connection, before_us: int) -> int:
    """Drop events created before ``before_us``, keeping the newest one so sequence numbers
    never restart."""
    return conn.execute(
        "DELETE FROM events WHERE created_at < ? AND seq < (SELECT max(seq) FROM events)",
        (before_us,),
    ).rowcount


def last_seq(conn: sqlite3.Connection) -> int:
    """The newest sequence number (0 for an empty log)."""
    return int(conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])
