"""Message queries, and the post transaction."""

from __future__ import annotations

import sqlite3

import orjson

from hubbub.core import events
from hubbub.core.errors import NotFound
from hubbub.core.models import InboxKind, Message, PostResult
from hubbub.core.store import MessageEdit, NewMessage
from hubbub.store.sqlite import channels, rows
from hubbub.store.sqlite import events as event_log

SELECT_JSON = f"SELECT {rows.MESSAGE_JSON} FROM {rows.MESSAGE_FROM}"


def _one(conn: sqlite3.Connection, where: str, params: tuple[object, ...]) -> Message | None:
    found = rows.parse_all(rows.MESSAGES, conn.execute(f"{SELECT_JSON} WHERE {where}", params))
    return found[0] if found else None


def by_id(conn: sqlite3.Connection, message_id: int) -> Message | None:
    return _one(conn, "m.id = ?", (message_id,))


def by_key(conn: sqlite3.Connection, author_id: int, key: str) -> Message | None:
    return _one(conn, "m.author_id = ? AND m.idempotency_key = ?", (author_id, key))


def _must(conn: sqlite3.Connection, message_id: int) -> Message:
    found = by_id(conn, message_id)
    if found is None:
        raise NotFound(f"no message with id {message_id}", code="message_not_found")
    return found


def post(conn: sqlite3.Connection, new: NewMessage) -> PostResult:
    """Insert a message with its inbox entries and events, or replay an idempotent repeat."""
    if new.idempotency_key is not None:
        earlier = by_key(conn, new.author_id, new.idempotency_key)
        if earlier is not None:
            return PostResult(message=earlier, replayed=True)
    channel_id = channels.resolve(conn, new.channel)
    created = rows.now_us()
    message_id = int(
        conn.execute(
            "INSERT INTO messages (channel_id, author_id, content, metadata, mentions, reply_to, "
            "thread_id, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
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
        ).fetchone()[0]
    )
    channels.mark_posted(conn, channel_id, new.author_id, message_id, new.join_author)
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
    event_log.append(conn, [events.message_event(events.MESSAGE_POSTED, message, channel_id)])
    _deliver(conn, message, new.inbox)
    return PostResult(message=message)


def _deliver(
    conn: sqlite3.Connection, message: Message, inbox: list[tuple[int, InboxKind]]
) -> None:
    """Put a message into each (agent, kind) inbox and record an event for each."""
    if not inbox:
        return
    now = rows.now_us()
    produced = []
    for agent_id, kind in inbox:
        item_id = conn.execute(
            "INSERT INTO inbox (agent_id, kind, message_id, created_at) VALUES (?, ?, ?, ?) "
            "RETURNING id",
            (agent_id, kind, message.id, now),
        ).fetchone()[0]
        produced.append(events.inbox_event(agent_id, item_id, kind, message.id, message.author))
    event_log.append(conn, produced)


def post_many(conn: sqlite3.Connection, news: list[NewMessage]) -> list[PostResult]:
    return [post(conn, new) for new in news]


def page(
    conn: sqlite3.Connection, channel_id: int, after: int | None, before: int | None, limit: int
) -> list[Message]:
    if after is not None:
        sql = f"{SELECT_JSON} WHERE m.channel_id = ? AND m.id > ? ORDER BY m.id LIMIT ?"
        return rows.parse_all(rows.MESSAGES, conn.execute(sql, (channel_id, after, limit)))
    if before is not None:
        newest = f"{SELECT_JSON} WHERE m.channel_id = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?"
        params: tuple[int, ...] = (channel_id, before, limit)
    else:
        newest = f"{SELECT_JSON} WHERE m.channel_id = ? ORDER BY m.id DESC LIMIT ?"
        params = (channel_id, limit)
    found = rows.parse_all(rows.MESSAGES, conn.execute(newest, params))
    found.reverse()
    return found


def thread(conn: sqlite3.Connection, root_id: int) -> list[Message]:
    sql = (
        f"SELECT {rows.MESSAGE_JSON}, m.id FROM {rows.MESSAGE_FROM} WHERE m.id = ? UNION ALL "
        f"SELECT {rows.MESSAGE_JSON}, m.id FROM {rows.MESSAGE_FROM} WHERE m.thread_id = ? "
        "ORDER BY 2"
    )
    return rows.parse_all(rows.MESSAGES, conn.execute(sql, (root_id, root_id)))


def edit(conn: sqlite3.Connection, change: MessageEdit) -> Message:
    conn.execute(
        "UPDATE messages SET content = coalesce(?, content), metadata = coalesce(?, metadata), "
        "mentions = coalesce(?, mentions), edited_at = ? WHERE id = ?",
        (
            change.content,
            None if change.metadata is None else orjson.dumps(change.metadata).decode(),
            None if change.mentions is None else orjson.dumps(change.mentions).decode(),
            rows.now_us(),
            change.message_id,
        ),
    )
    message = _must(conn, change.message_id)
    channel_id = _channel_id(conn, message.id)
    event_log.append(conn, [events.message_event(events.MESSAGE_EDITED, message, channel_id)])
    _deliver(conn, message, change.new_inbox)
    return message


def delete(conn: sqlite3.Connection, message_id: int) -> Message:
    conn.execute(
        "UPDATE messages SET content = '', metadata = '{}', mentions = '[]', deleted_at = ? "
        "WHERE id = ? AND deleted_at IS NULL",
        (rows.now_us(), message_id),
    )
    message = _must(conn, message_id)
    channel_id = _channel_id(conn, message_id)
    event_log.append(conn, [events.message_event(events.MESSAGE_DELETED, message, channel_id)])
    return message


def _channel_id(conn: sqlite3.Connection, message_id: int) -> int:
    return int(
        conn.execute("SELECT channel_id FROM messages WHERE id = ?", (message_id,)).fetchone()[0]
    )
