"""Removing messages for good: a channel cleared or deleted (and, with a time selection, any
messages past an age), with everything that holds their text or points at them.

:func:`purge_messages` removes one bounded batch of the selected messages per write, so a
large removal never holds the writer for long: the caller repeats it until it removes none.
Each batch, in its one transaction, removes the messages' rows (their search rows go with
them: SQLite's FTS5 triggers, PostgreSQL's expression index), the inbox items pointing at
them, the files they shared (each blob loses a reference and is let go with its last, then
freed a few chunks a write, as a deleted file's is), the events that carry their text or
their files' (``message.*``, ``file.*``), and unties replies outside the batch. Idempotency
keys of the removed messages are remembered for a week (``removed_keys``), so a retried
post or send is refused rather than answered with, or posting again, what was removed; and
the span of event sequence numbers removed is recorded (``event_holes``), so a stream
resuming from before it is told of the hole (``stream.gap``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from hubbub.core import events
from hubbub.core.errors import Conflict
from hubbub.core.models import Channel
from hubbub.core.store import MessageSelection
from hubbub.store import channels, files
from hubbub.store import events as event_log
from hubbub.store.dialect import Dialect
from hubbub.store.sql import Query, Session
from hubbub.store.times import now_us, to_us

KEYS_KEPT_US = 7 * 24 * 3600 * 1_000_000  # how long a removed message's key is refused

_SELECTION = {
    "channel": "channel_id = :channel",
    "up_to": "id <= :up_to",
    "before": "created_at < :before",
    "unruled": "channel_id IN (SELECT id FROM channels WHERE retention_days IS NULL)",
}


@functools.cache
def _pick(parts: tuple[str, ...]) -> Query:
    """The next batch of a selection of this shape, oldest first."""

    def where(d: Dialect) -> str:
        found = [d.any_of("id", "ids") if p == "ids" else _SELECTION[p] for p in parts]
        return " AND ".join(found)

    return Query(lambda d: f"SELECT id FROM messages WHERE {where(d)} ORDER BY id LIMIT :limit")


REMEMBER_KEYS = Query(
    lambda d: (
        "INSERT INTO removed_keys (author_id, idempotency_key, removed_at) "
        "SELECT author_id, idempotency_key, :now FROM messages "
        f"WHERE {d.any_of('id', 'ids')} AND idempotency_key IS NOT NULL "
        "ON CONFLICT DO NOTHING"
    )
)
REMOVED_KEY = Query(
    "SELECT 1 FROM removed_keys WHERE author_id = :author AND idempotency_key = :key"
)
FORGET_KEYS = Query("DELETE FROM removed_keys WHERE removed_at < :before")
FILES_OF = Query(lambda d: f"SELECT id, blob_id FROM files WHERE {d.any_of('message_id', 'ids')}")
FILES_IN = Query("SELECT id, blob_id FROM files WHERE channel_id = :channel")
INBOX = Query(lambda d: f"DELETE FROM inbox WHERE {d.any_of('message_id', 'ids')}")
UNTIE = Query(lambda d: f"UPDATE messages SET reply_to = NULL WHERE {d.any_of('reply_to', 'ids')}")
MESSAGES = Query(lambda d: f"DELETE FROM messages WHERE {d.any_of('id', 'ids')}")

# The events that carry what is removed, found through the expression indexes of 0013: the
# statement differs by engine, as the indexed expression does.
_CARRIED = {
    ("sqlite", "message"): "type GLOB 'message.*' AND json_extract(payload, '$.message.id')",
    ("sqlite", "file"): "type GLOB 'file.*' AND json_extract(payload, '$.file.id')",
    ("postgresql", "message"): (
        "type LIKE 'message.%' AND CAST(payload -> 'message' ->> 'id' AS bigint)"
    ),
    ("postgresql", "file"): "type LIKE 'file.%' AND CAST(payload -> 'file' ->> 'id' AS bigint)",
}


def _events_of(subject: str) -> Query:
    """Delete the events that carry one of the ``ids`` of ``subject``, returning their seqs."""
    return Query(
        lambda d: (
            f"DELETE FROM events WHERE {d.any_of(_CARRIED[(d.name, subject)], 'ids')} RETURNING seq"
        )
    )


MESSAGE_EVENTS = _events_of("message")
FILE_EVENTS = _events_of("file")
# Every event scoped to a channel (its tasks' too): a scan of the log, once per channel deleted,
# rather than an index every event would pay for.
CHANNEL_EVENTS = Query("DELETE FROM events WHERE channel_id = :channel RETURNING seq")
HOLE = Query(
    "INSERT INTO event_holes (first_seq, last_seq, created_at) VALUES (:first, :last, :now)"
)
HOLE_AFTER = Query("SELECT coalesce(max(last_seq), 0) FROM event_holes WHERE last_seq > :seq")
# Holes wholly before the oldest event kept are told by the log's own start.
FORGET_HOLES = Query(
    "DELETE FROM event_holes WHERE last_seq < (SELECT coalesce(min(seq), 0) FROM events)"
)
LEFT_IN = Query("SELECT 1 FROM messages WHERE channel_id = :channel LIMIT 1")
TASKS_IN = Query("SELECT id FROM tasks WHERE channel_id = :channel")
TASK_KEYS = Query(lambda d: f"DELETE FROM task_keys WHERE {d.any_of('task_id', 'ids')}")
DELIVERIES = Query(lambda d: f"DELETE FROM webhook_deliveries WHERE {d.any_of('task_id', 'ids')}")
TASKS = Query(lambda d: f"DELETE FROM tasks WHERE {d.any_of('id', 'ids')}")
MEMBERS = Query("DELETE FROM members WHERE channel_id = :channel")
CHANNEL = Query("DELETE FROM channels WHERE id = :channel")


async def purge_messages(conn: Session, selection: MessageSelection, limit: int) -> int:
    """Remove up to ``limit`` of the selected messages, oldest first, with everything that
    holds their text; how many it removed (0: none is left). One write, reusable for any
    selection: repeat it until it answers 0."""
    given = {
        "channel": selection.channel_id,
        "up_to": selection.up_to,
        "before": None if selection.before is None else to_us(selection.before),
    }
    parts = tuple(name for name, value in given.items() if value is not None)
    if not parts and selection.ids is None:
        raise ValueError("a purge needs a selection")
    params = {p: given[p] for p in parts}
    if selection.unruled:
        parts += ("unruled",)
    if selection.ids is not None:
        parts += ("ids",)
        params["ids"] = conn.dialect.array(list(selection.ids))
    picked = await conn.rows(_pick(parts), limit=limit, **params)
    ids = [int(r["id"]) for r in picked]
    if not ids:
        return 0
    now = now_us()
    array = conn.dialect.array(ids)
    await conn.run(REMEMBER_KEYS, ids=array, now=now)
    found = await conn.rows(FILES_OF, ids=array)
    removed = await _drop_files(conn, [(int(r["id"]), int(r["blob_id"])) for r in found])
    await conn.run(INBOX, ids=array)
    removed += [int(r["seq"]) for r in await conn.rows(MESSAGE_EVENTS, ids=array)]
    await conn.run(UNTIE, ids=array)
    await conn.run(MESSAGES, ids=array)
    await _hole(conn, removed, now)
    await conn.run(FORGET_KEYS, before=now - KEYS_KEPT_US)
    await conn.run(FORGET_HOLES)
    return len(ids)


async def _drop_files(conn: Session, found: Sequence[tuple[int, int]]) -> list[int]:
    """Delete these files (file id, blob id), each blob losing a reference as a deleted
    file's does, and the events that name them; the sequence numbers of those events."""
    if not found:
        return []
    for file_id, blob_id in found:
        await conn.run(files.DROP_FILE, id=file_id)
        await conn.run(files.RELEASE, id=blob_id)
    array = conn.dialect.array([file_id for file_id, _ in found])
    return [int(r["seq"]) for r in await conn.rows(FILE_EVENTS, ids=array)]


async def _hole(conn: Session, seqs: Sequence[int], now: int) -> None:
    """Record the span of removed events, for streams resuming across it."""
    if seqs:
        await conn.run(HOLE, first=min(seqs), last=max(seqs), now=now)


async def check_key(conn: Session, author_id: int, key: str) -> None:
    """Refuse an idempotency key whose message was removed (a retry must neither post the
    removed text again nor get it back)."""
    if await conn.row(REMOVED_KEY, author=author_id, key=key) is not None:
        raise Conflict(
            "Idempotency-Key was used for a message that has since been removed",
            code="message_removed",
        )


async def cleared(conn: Session, channel_id: int, removed: int, by: str) -> Channel:
    """Tell a cleared channel's readers (``channel.cleared``)."""
    channel = await channels.by_id(conn, channel_id)
    event = events.channel_event(
        events.CHANNEL_CLEARED, channel_id, channel.name, by=by, messages=removed
    )
    await event_log.append(conn, [event])
    return channel


async def delete_channel(conn: Session, channel_id: int, by: str) -> None:
    """Delete a channel whose messages are gone: its tasks (their keys, webhook deliveries
    and events), any file left, its members and every event of it; then tell those who
    followed it (``channel.deleted``)."""
    channel = await channels.by_id(conn, channel_id)
    if await conn.row(LEFT_IN, channel=channel_id) is not None:
        raise Conflict(f"#{channel.name} took a message meanwhile; try again", code="conflict")
    now = now_us()
    found = [int(r["id"]) for r in await conn.rows(TASKS_IN, channel=channel_id)]
    if found:
        task_ids = conn.dialect.array(found)
        await conn.run(TASK_KEYS, ids=task_ids)
        await conn.run(DELIVERIES, ids=task_ids)
        await conn.run(TASKS, ids=task_ids)
    left = await conn.rows(FILES_IN, channel=channel_id)
    removed = await _drop_files(conn, [(int(r["id"]), int(r["blob_id"])) for r in left])
    removed += [int(r["seq"]) for r in await conn.rows(CHANNEL_EVENTS, channel=channel_id)]
    await conn.run(MEMBERS, channel=channel_id)
    await conn.run(CHANNEL, channel=channel_id)
    await _hole(conn, removed, now)
    deleted = events.channel_event(events.CHANNEL_DELETED, channel_id, channel.name, by=by)
    await event_log.append(conn, [deleted])


async def hole_after(conn: Session, seq: int) -> int:
    """The end of the newest span of removed events past ``seq`` (0: none)."""
    return int(await conn.value(HOLE_AFTER, seq=seq))
