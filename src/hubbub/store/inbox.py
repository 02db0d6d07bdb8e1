"""An agent's inbox: items peeked in order, marked delivered, and acknowledged, with the
receipts their senders hear."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hubbub.core import events
from hubbub.core.models import AckResult, InboxItem
from hubbub.store import events as event_log
from hubbub.store.dialect import Dialect
from hubbub.store.rows import INBOX_ITEMS, MESSAGE_JOINS, message_json
from hubbub.store.sql import Query, Row, Session
from hubbub.store.times import now_us, to_time

FROM = f"inbox i JOIN messages m ON m.id = i.message_id {MESSAGE_JOINS}"
# An item stays visible only while its channel does: public, or the agent still a member.
READABLE = """
    ((c.kind = 'channel' AND c.visibility = 'public')
     OR EXISTS (SELECT 1 FROM members mb WHERE mb.channel_id = m.channel_id
                AND mb.agent_id = i.agent_id))
"""


def _page(acked: str) -> Query:
    def source(d: Dialect) -> str:
        item = d.json_object(
            f"'id', i.id, 'kind', i.kind, 'message', {message_json(d)}",
            f"'created_at', {d.iso('i.created_at')}",
            f"'delivered_at', {d.iso('i.delivered_at')}, 'acked_at', {d.iso('i.acked_at')}",
        )
        return (
            f"SELECT {item} FROM {FROM} WHERE i.agent_id = :agent AND i.id > :after {acked} "
            f"AND {READABLE} ORDER BY i.id LIMIT :limit"
        )

    return Query(source)


PAGE = _page("AND i.acked_at IS NULL")
PAGE_WITH_ACKED = _page("")
UNACKED = Query(
    f"SELECT count(*) FROM {FROM} WHERE i.agent_id = :agent AND i.acked_at IS NULL AND {READABLE}"
)
ACK_UP_TO = Query(
    "UPDATE inbox SET acked_at = :now WHERE agent_id = :agent AND acked_at IS NULL "
    "AND id <= :up_to RETURNING id, message_id"
)
ACK_IDS = Query(
    lambda d: (
        "UPDATE inbox SET acked_at = :now WHERE agent_id = :agent AND acked_at IS NULL "
        f"AND {d.any_of('id', 'ids')} RETURNING id, message_id"
    )
)
DELIVER = Query(
    lambda d: (
        "UPDATE inbox SET delivered_at = :now WHERE agent_id = :agent "
        f"AND delivered_at IS NULL AND {d.any_of('id', 'ids')} RETURNING message_id"
    )
)
AUTHORS = Query(
    lambda d: f"SELECT id, author_id FROM messages WHERE {d.any_of('id', 'ids')} ORDER BY id"
)
AGENT_NAME = Query("SELECT name FROM agents WHERE id = :id")


async def unacked(conn: Session, agent_id: int) -> int:
    """How many of the agent's readable items await an ack."""
    return int(await conn.value(UNACKED, agent=agent_id))


async def peek(
    conn: Session, agent_id: int, after: int, limit: int, include_acked: bool
) -> tuple[list[InboxItem], int]:
    """Up to ``limit`` items after ``after``, oldest first, and the unacked count."""
    page = PAGE_WITH_ACKED if include_acked else PAGE
    items = await conn.models(INBOX_ITEMS, page, agent=agent_id, after=after, limit=limit)
    return items, await unacked(conn, agent_id)


async def ack(conn: Session, agent_id: int, ids: Sequence[int], up_to: int | None) -> AckResult:
    """Acknowledge items by id and every item up to ``up_to``; ids not the agent's (or
    acked already) are ignored. Senders hear an ``inbox.read`` receipt."""
    now = now_us()
    acked: list[Row] = []
    if up_to is not None:
        acked += await conn.rows(ACK_UP_TO, now=now, agent=agent_id, up_to=up_to)
    if ids:
        acked += await conn.rows(ACK_IDS, now=now, agent=agent_id, ids=conn.dialect.array(ids))
    if acked:
        item_ids = sorted(r["id"] for r in acked)
        await event_log.append(conn, [events.acked_event(agent_id, item_ids)])
        await _receipts(conn, events.INBOX_READ, agent_id, [r["message_id"] for r in acked])
    return AckResult(acked=len(acked), unacked=await unacked(conn, agent_id))


async def mark_delivered(conn: Session, agent_id: int, item_ids: Sequence[int]) -> datetime:
    """Stamp the items' first delivery; senders hear an ``inbox.delivered`` receipt."""
    now = now_us()
    delivered = await conn.rows(DELIVER, now=now, agent=agent_id, ids=conn.dialect.array(item_ids))
    await _receipts(conn, events.INBOX_DELIVERED, agent_id, [r["message_id"] for r in delivered])
    return to_time(now)


async def _receipts(conn: Session, kind: str, recipient_id: int, message_ids: list[int]) -> None:
    """One receipt event per sender of these messages (none to the recipient itself)."""
    if not message_ids:
        return
    by_sender: dict[int, list[int]] = {}
    for r in await conn.rows(AUTHORS, ids=conn.dialect.array(message_ids)):
        by_sender.setdefault(r["author_id"], []).append(r["id"])
    recipient = await conn.value(AGENT_NAME, id=recipient_id)
    await event_log.append(
        conn,
        [
            events.receipt_event(kind, sender, recipient, ids)
            for sender, ids in by_sender.items()
            if sender != recipient_id
        ],
    )
