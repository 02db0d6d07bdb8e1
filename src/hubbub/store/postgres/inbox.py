"""Inbox queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hubbub.core import events
from hubbub.core.models import AckResult, InboxItem
from hubbub.store.postgres import events as event_log
from hubbub.store.postgres import rows
from hubbub.store.postgres.rows import Conn

SELECT = f"""
    SELECT json_build_object('id', i.id, 'kind', i.kind, 'message', {rows.MESSAGE_JSON},
                             'created_at', {rows.iso("i.created_at")},
                             'delivered_at', {rows.iso("i.delivered_at")},
                             'acked_at', {rows.iso("i.acked_at")})::text
      FROM inbox i JOIN messages m ON m.id = i.message_id {rows.MESSAGE_JOINS}
"""


# An item stays visible only while its channel does: public, or the agent still a member.
READABLE = """
    ((c.kind = 'channel' AND c.visibility = 'public')
     OR EXISTS (SELECT 1 FROM members mb WHERE mb.channel_id = m.channel_id
                AND mb.agent_id = i.agent_id))
"""


async def unacked(conn: Conn, agent_id: int) -> int:
    return await rows.scalar(
        conn,
        f"SELECT count(*) FROM inbox i JOIN messages m ON m.id = i.message_id "
        f"{rows.MESSAGE_JOINS} WHERE i.agent_id = %s AND i.acked_at IS NULL AND {READABLE}",
        (agent_id,),
    )


async def peek(
    conn: Conn, agent_id: int, after: int, limit: int, include_acked: bool
) -> tuple[list[InboxItem], int]:
    acked = "" if include_acked else "AND i.acked_at IS NULL"
    sql = (
        f"{SELECT} WHERE i.agent_id = %s AND i.id > %s {acked} AND {READABLE} "
        "ORDER BY i.id LIMIT %s"
    )
    items = await rows.parse_all(rows.INBOX_ITEMS, conn, sql, (agent_id, after, limit))
    return items, await unacked(conn, agent_id)


async def ack(conn: Conn, agent_id: int, ids: Sequence[int], up_to: int | None) -> AckResult:
    now = rows.now_us()
    acked: list[tuple[int, int]] = []
    if up_to is not None:
        acked += [
            (r["id"], r["message_id"])
            for r in await rows.all_rows(
                conn,
                "UPDATE inbox SET acked_at = %s WHERE agent_id = %s AND acked_at IS NULL "
                "AND id <= %s RETURNING id, message_id",
                (now, agent_id, up_to),
            )
        ]
    if ids:
        acked += [
            (r["id"], r["message_id"])
            for r in await rows.all_rows(
                conn,
                "UPDATE inbox SET acked_at = %s WHERE agent_id = %s AND acked_at IS NULL "
                "AND id = ANY(%s::bigint[]) RETURNING id, message_id",
                (now, agent_id, list(ids)),
            )
        ]
    if acked:
        await event_log.append(
            conn, [events.acked_event(agent_id, sorted(item for item, _ in acked))]
        )
        await _receipts(conn, events.INBOX_READ, agent_id, [message for _, message in acked])
    return AckResult(acked=len(acked), unacked=await unacked(conn, agent_id))


async def mark_delivered(conn: Conn, agent_id: int, item_ids: Sequence[int]) -> datetime:
    now = rows.now_us()
    delivered = await rows.all_rows(
        conn,
        "UPDATE inbox SET delivered_at = %s WHERE agent_id = %s AND delivered_at IS NULL "
        "AND id = ANY(%s::bigint[]) RETURNING message_id",
        (now, agent_id, list(item_ids)),
    )
    await _receipts(conn, events.INBOX_DELIVERED, agent_id, [r["message_id"] for r in delivered])
    return rows.to_time(now)


async def _receipts(conn: Conn, kind: str, recipient_id: int, message_ids: list[int]) -> None:
    """One receipt event per sender of these messages."""
    if not message_ids:
        return
    by_sender: dict[int, list[int]] = {}
    for r in await rows.all_rows(
        conn,
        "SELECT id, author_id FROM messages WHERE id = ANY(%s::bigint[]) ORDER BY id",
        (message_ids,),
    ):
        by_sender.setdefault(r["author_id"], []).append(r["id"])
    recipient = await rows.one(conn, "SELECT name FROM agents WHERE id = %s", (recipient_id,))
    assert recipient is not None
    await event_log.append(
        conn,
        [
            events.receipt_event(kind, sender, recipient["name"], ids)
            for sender, ids in by_sender.items()
            if sender != recipient_id
        ],
    )
