"""Inbox queries."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from hubbub.core import events
from hubbub.core.models import AckResult, InboxItem
from hubbub.store.sqlite import events as event_log
from hubbub.store.sqlite import rows

SELECT = f"""
    SELECT json_object('id', i.id, 'kind', i.kind, 'message', {rows.MESSAGE_JSON},
                       'created_at', {rows.iso("i.created_at")},
                       'delivered_at', {rows.iso("i.delivered_at")},
                       'acked_at', {rows.iso("i.acked_at")})
      FROM inbox i JOIN messages m ON m.id = i.message_id {rows.MESSAGE_JOINS}
"""


# An item stays visible only while its channel does: public, or the agent still a member.
READABLE = """
    ((c.kind = 'channel' AND c.visibility = 'public')
     OR EXISTS (SELECT 1 FROM members mb WHERE mb.channel_id = m.channel_id
                AND mb.agent_id = i.agent_id))
"""


def unacked(conn: sqlite3.Connection, agent_id: int) -> int:
    row = conn.execute(
        f"SELECT count(*) FROM inbox i JOIN messages m ON m.id = i.message_id {rows.MESSAGE_JOINS} "
        f"WHERE i.agent_id = ? AND i.acked_at IS NULL AND {READABLE}",
        (agent_id,),
    ).fetchone()
    return int(row[0])


def peek(
    conn: sqlite3.Connection, agent_id: int, after: int, limit: int, include_acked: bool
) -> tuple[list[InboxItem], int]:
    acked = "" if include_acked else "AND i.acked_at IS NULL"
    sql = f"{SELECT} WHERE i.agent_id = ? AND i.id > ? {acked} AND {READABLE} ORDER BY i.id LIMIT ?"
    items = rows.parse_all(rows.INBOX_ITEMS, conn.execute(sql, (agent_id, after, limit)))
    return items, unacked(conn, agent_id)


def ack(
    conn: sqlite3.Connection, agent_id: int, ids: Sequence[int], up_to: int | None
) -> AckResult:
    now = rows.now_us()
    acked: list[tuple[int, int]] = []
    if up_to is not None:
        acked += conn.execute(
            "UPDATE inbox SET acked_at = ? WHERE agent_id = ? AND acked_at IS NULL "
            "AND id <= ? RETURNING id, message_id",
            (now, agent_id, up_to),
        ).fetchall()
    if ids:
        marks = ",".join("?" * len(ids))
        acked += conn.execute(
            f"UPDATE inbox SET acked_at = ? WHERE agent_id = ? AND acked_at IS NULL "
            f"AND id IN ({marks}) RETURNING id, message_id",
            (now, agent_id, *ids),
        ).fetchall()
    if acked:
        event_log.append(conn, [events.acked_event(agent_id, sorted(r[0] for r in acked))])
        _receipts(conn, events.INBOX_READ, agent_id, [r[1] for r in acked])
    return AckResult(acked=len(acked), unacked=unacked(conn, agent_id))


def mark_delivered(conn: sqlite3.Connection, agent_id: int, item_ids: Sequence[int]) -> datetime:
    now = rows.now_us()
    marks = ",".join("?" * len(item_ids))
    delivered = conn.execute(
        f"UPDATE inbox SET delivered_at = ? WHERE agent_id = ? AND delivered_at IS NULL "
        f"AND id IN ({marks}) RETURNING message_id",
        (now, agent_id, *item_ids),
    ).fetchall()
    _receipts(conn, events.INBOX_DELIVERED, agent_id, [r[0] for r in delivered])
    return rows.to_time(now)


def _receipts(
    conn: sqlite3.Connection, kind: str, recipient_id: int, message_ids: list[int]
) -> None:
    """One receipt event per sender of these messages."""
    if not message_ids:
        return
    marks = ",".join("?" * len(message_ids))
    by_sender: dict[int, list[int]] = {}
    for message_id, author_id in conn.execute(
        f"SELECT id, author_id FROM messages WHERE id IN ({marks}) ORDER BY id", message_ids
    ):
        by_sender.setdefault(author_id, []).append(message_id)
    recipient = conn.execute("SELECT name FROM agents WHERE id = ?", (recipient_id,)).fetchone()
    event_log.append(
        conn,
        [
            events.receipt_event(kind, sender, recipient[0], ids)
            for sender, ids in by_sender.items()
            if sender != recipient_id
        ],
    )
