"""Message queries, and the post transaction."""

from __future__ import annotations

import orjson

from hubbub.core import events
from hubbub.core.errors import NotFound
from hubbub.core.models import InboxKind, Message, PostResult
from hubbub.core.store import MessageEdit, NewMessage
from hubbub.store.postgres import channels, rows
from hubbub.store.postgres import events as event_log
from hubbub.store.postgres.rows import Conn

SELECT_JSON = f"SELECT {rows.MESSAGE_JSON}::text FROM {rows.MESSAGE_FROM}"


async def _one(conn: Conn, where: str, params: tuple[object, ...]) -> Message | None:
    found = await rows.parse_all(rows.MESSAGES, conn, f"{SELECT_JSON} WHERE {where}", params)
    return found[0] if found else None


async def by_id(conn: Conn, message_id: int) -> Message | None:
    return await _one(conn, "m.id = %s", (message_id,))


async def by_key(conn: Conn, author_id: int, key: str) -> Message | None:
    return await _one(conn, "m.author_id = %s AND m.idempotency_key = %s", (author_id, key))


async def _must(conn: Conn, message_id: int) -> Message:
    found = await by_id(conn, message_id)
    if found is None:
        raise NotFound(f"no message with id {message_id}", code="message_not_found")
    return found


async def post(conn: Conn, new: NewMessage) -> PostResult:
    """Insert a message with its inbox entries and events, or replay an idempotent repeat."""
    if new.idempotency_key is not None:
        earlier = await by_key(conn, new.author_id, new.idempotency_key)
        if earlier is not None:
            return PostResult(message=earlier, replayed=True)
    channel_id = await channels.resolve(conn, new.channel)
    created = rows.now_us()
    message_id = await rows.scalar(
        conn,
        "INSERT INTO messages (channel_id, author_id, content, metadata, mentions, reply_to, "
        "thread_id, idempotency_key, created_at) "
        "VALUES (%s, %s, %s, %s::json, %s::json, %s, %s, %s, %s) RETURNING id",
        (
            channel_id,
            new.author_id,
            new.content,
            orjson.dumps(new.metadata).decode(),
            orjson.dumps(new.mentions).decode(),
            new.reply_to,
            new.thread_id,
            new.idempotency_key,
            created,
        ),
    )
    await channels.mark_posted(conn, channel_id, new.author_id, message_id, new.join_author)
    message = Message.model_construct(
        id=message_id,
        channel=new.channel_name,
        author=new.author_name,
        content=new.content,
        metadata=new.metadata,
        reply_to=new.reply_to,
        thread_id=new.thread_id,
        mentions=new.mentions,
        created_at=rows.to_time(created),
        edited_at=None,
        deleted=False,
    )
    await event_log.append(conn, [events.message_event(events.MESSAGE_POSTED, message, channel_id)])
    await _deliver(conn, message, new.inbox)
    return PostResult(message=message)


async def _deliver(conn: Conn, message: Message, inbox: list[tuple[int, InboxKind]]) -> None:
    """Put a message into each (agent, kind) inbox and record an event for each."""
    if not inbox:
        return
    cursor = await conn.execute(
        "INSERT INTO inbox (agent_id, kind, message_id, created_at) "
        "SELECT a, k, %s, %s FROM unnest(%s::bigint[], %s::text[]) WITH ORDINALITY "
        "AS i (a, k, n) ORDER BY n RETURNING id",
        (message.id, rows.now_us(), [a for a, _ in inbox], [k for _, k in inbox]),
    )
    # Rows are inserted, and numbered, in ordinality order.
    item_ids = sorted(r["id"] for r in await cursor.fetchall())
    await event_log.append(
        conn,
        [
            events.inbox_event(agent_id, item_id, kind, message.id, message.author)
            for item_id, (agent_id, kind) in zip(item_ids, inbox, strict=True)
        ],
    )


async def post_many(conn: Conn, news: list[NewMessage]) -> list[PostResult]:
    return [await post(conn, new) for new in news]


async def page(
    conn: Conn, channel_id: int, after: int | None, before: int | None, limit: int
) -> list[Message]:
    if after is not None:
        sql = f"{SELECT_JSON} WHERE m.channel_id = %s AND m.id > %s ORDER BY m.id LIMIT %s"
        return await rows.parse_all(rows.MESSAGES, conn, sql, (channel_id, after, limit))
    if before is not None:
        newest = f"{SELECT_JSON} WHERE m.channel_id = %s AND m.id < %s ORDER BY m.id DESC LIMIT %s"
        params: tuple[int, ...] = (channel_id, before, limit)
    else:
        newest = f"{SELECT_JSON} WHERE m.channel_id = %s ORDER BY m.id DESC LIMIT %s"
        params = (channel_id, limit)
    found = await rows.parse_all(rows.MESSAGES, conn, newest, params)
    found.reverse()
    return found


async def thread(conn: Conn, root_id: int) -> list[Message]:
    sql = f"{SELECT_JSON} WHERE m.id = %s OR m.thread_id = %s ORDER BY m.id"
    return await rows.parse_all(rows.MESSAGES, conn, sql, (root_id, root_id))


async def edit(conn: Conn, change: MessageEdit) -> Message:
    await conn.execute(
        "UPDATE messages SET content = coalesce(%s, content), "
        "metadata = coalesce(%s::json, metadata), mentions = coalesce(%s::json, mentions), "
        "edited_at = %s WHERE id = %s",
        (
            change.content,
            None if change.metadata is None else orjson.dumps(change.metadata).decode(),
            None if change.mentions is None else orjson.dumps(change.mentions).decode(),
            rows.now_us(),
            change.message_id,
        ),
    )
    message = await _must(conn, change.message_id)
    channel_id = await _channel_id(conn, message.id)
    await event_log.append(conn, [events.message_event(events.MESSAGE_EDITED, message, channel_id)])
    await _deliver(conn, message, change.new_inbox)
    return message


async def delete(conn: Conn, message_id: int) -> Message:
    await conn.execute(
        "UPDATE messages SET content = '', metadata = '{}', mentions = '[]', deleted_at = %s "
        "WHERE id = %s AND deleted_at IS NULL",
        (rows.now_us(), message_id),
    )
    message = await _must(conn, message_id)
    channel_id = await _channel_id(conn, message_id)
    await event_log.append(
        conn, [events.message_event(events.MESSAGE_DELETED, message, channel_id)]
    )
    return message


async def _channel_id(conn: Conn, message_id: int) -> int:
    return await rows.scalar(conn, "SELECT channel_id FROM messages WHERE id = %s", (message_id,))
