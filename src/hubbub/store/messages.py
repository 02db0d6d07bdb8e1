"""Message queries, and the post transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hubbub.core import events
from hubbub.core.errors import Conflict, NotFound
from hubbub.core.models import InboxKind, Message, PostResult
from hubbub.core.store import MessageEdit, NewMessage
from hubbub.store import channels, files, purge, rows
from hubbub.store import events as event_log
from hubbub.store.dialect import Dialect
from hubbub.store.sql import Query, Session
from hubbub.store.times import now_us, to_time, to_us


def _select(where: str) -> Query:
    def build(d: Dialect) -> str:
        return f"SELECT {rows.message_json(d)} FROM {rows.MESSAGE_FROM} WHERE {where}"

    return Query(build)


BY_ID = _select("m.id = :id")
BY_KEY = _select("m.author_id = :author AND m.idempotency_key = :key")
AFTER = _select("m.channel_id = :channel AND m.id > :after ORDER BY m.id LIMIT :limit")
BEFORE = _select("m.channel_id = :channel AND m.id < :before ORDER BY m.id DESC LIMIT :limit")
NEWEST = _select("m.channel_id = :channel ORDER BY m.id DESC LIMIT :limit")
# The same pages of one kind of message, over the index of kinds.
OF_KIND = "m.channel_id = :channel AND m.kind = :kind"
AFTER_KIND = _select(f"{OF_KIND} AND m.id > :after ORDER BY m.id LIMIT :limit")
BEFORE_KIND = _select(f"{OF_KIND} AND m.id < :before ORDER BY m.id DESC LIMIT :limit")
NEWEST_KIND = _select(f"{OF_KIND} ORDER BY m.id DESC LIMIT :limit")
# A page within a time window (with an id bound, a kind, or neither): the channel's index
# walked in id order, each row's time checked.
IN_WINDOW = (
    "m.channel_id = :channel AND (CAST(:kind AS TEXT) IS NULL OR m.kind = :kind) "
    "AND (CAST(:after AS BIGINT) IS NULL OR m.id > :after) "
    "AND (CAST(:before AS BIGINT) IS NULL OR m.id < :before) "
    "AND (CAST(:since AS BIGINT) IS NULL OR m.created_at >= :since) "
    "AND (CAST(:until AS BIGINT) IS NULL OR m.created_at <= :until)"
)
WINDOW_FIRST = _select(f"{IN_WINDOW} ORDER BY m.id LIMIT :limit")
WINDOW_LAST = _select(f"{IN_WINDOW} ORDER BY m.id DESC LIMIT :limit")
# Two index range scans, rather than one OR that neither index serves.
THREAD = Query(
    lambda d: (
        f"SELECT {rows.message_json(d)}, m.id FROM {rows.MESSAGE_FROM} WHERE m.id = :root "
        f"UNION ALL SELECT {rows.message_json(d)}, m.id FROM {rows.MESSAGE_FROM} "
        "WHERE m.thread_id = :root ORDER BY 2"
    )
)
# The insert checks the channel still takes posts itself (no row when it is archived or
# gone): one statement under the write lock where a lookup and an insert were two.
POST = Query(
    lambda d: (
        "INSERT INTO messages (channel_id, author_id, content, metadata, mentions, "
        "reply_to, thread_id, idempotency_key, created_at, kind) SELECT :channel, :author, "
        f":content, {d.json_param('metadata')}, {d.json_param('mentions')}, "
        "CAST(:reply_to AS bigint), CAST(:thread_id AS bigint), :key, :now, :kind "
        "FROM channels WHERE id = :channel AND archived_at IS NULL RETURNING id"
    )
)
EDIT = Query(
    lambda d: (
        "UPDATE messages SET content = coalesce(:content, content), "
        f"metadata = coalesce({d.json_param('metadata')}, metadata), "
        f"mentions = coalesce({d.json_param('mentions')}, mentions), edited_at = :now "
        "WHERE id = :id"
    )
)
DELETE = Query(
    "UPDATE messages SET content = '', metadata = '{}', mentions = '[]', deleted_at = :now "
    "WHERE id = :id AND deleted_at IS NULL"
)
CHANNEL_OF = Query("SELECT channel_id FROM messages WHERE id = :id")
# One index seek per channel: the newest message of each channel the agent may read.
NEWEST_READABLE = Query(
    "SELECT coalesce(max((SELECT max(x.id) FROM messages x WHERE x.channel_id = r.id)), 0) "
    "FROM (SELECT c.id FROM channels c WHERE c.kind = 'channel' AND c.visibility = 'public' "
    "UNION SELECT mb.channel_id FROM members mb WHERE mb.agent_id = :agent) r"
)


async def _one(conn: Session, query: Query, **params: object) -> Message | None:
    found = await conn.models(rows.MESSAGES, query, **params)
    return found[0] if found else None


async def by_id(conn: Session, message_id: int) -> Message | None:
    return await _one(conn, BY_ID, id=message_id)


async def by_key(conn: Session, author_id: int, key: str) -> Message | None:
    return await _one(conn, BY_KEY, author=author_id, key=key)


async def _must(conn: Session, message_id: int) -> Message:
    found = await by_id(conn, message_id)
    if found is None:
        raise NotFound(f"no message with id {message_id}", code="message_not_found")
    return found


async def post(conn: Session, new: NewMessage) -> PostResult:
    """Insert a message with its inbox entries and events, or replay an idempotent repeat."""
    if new.idempotency_key is not None:
        earlier = await by_key(conn, new.author_id, new.idempotency_key)
        if earlier is not None:
            return PostResult(message=earlier, replayed=True)
        await purge.check_key(conn, new.author_id, new.idempotency_key)
    channel_id = new.channel if isinstance(new.channel, int) else None
    if channel_id is None:
        channel_id = await channels.resolve(conn, new.channel)
    created = now_us()
    inserted = await conn.value(
        POST,
        channel=channel_id,
        author=new.author_id,
        content=new.content,
        metadata=rows.dumps(new.metadata),
        mentions=rows.dumps(new.mentions),
        reply_to=new.reply_to,
        thread_id=new.thread_id,
        key=new.idempotency_key,
        now=created,
        kind=new.kind,
    )
    if inserted is None:  # archived or gone since the caller looked: say which
        await channels.resolve(conn, channel_id)
        raise Conflict(f"#{new.channel_name} no longer takes posts", code="conflict")
    message_id = int(inserted)
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
        created_at=to_time(created),
        edited_at=None,
        deleted=False,
        kind=new.kind,
    )
    posted = events.message_event(events.MESSAGE_POSTED, message, channel_id)
    await event_log.append(conn, [posted])
    await _deliver(conn, message, new.inbox)
    return PostResult(message=message)


async def _deliver(conn: Session, message: Message, inbox: list[tuple[int, InboxKind]]) -> None:
    """Put a message into each (agent, kind) inbox and record an event for each."""
    if not inbox:
        return
    now = now_us()
    item_ids = await conn.insert(
        "inbox",
        [
            {"agent_id": agent_id, "kind": kind, "message_id": message.id, "created_at": now}
            for agent_id, kind in inbox
        ],
        returning="id",
    )
    await event_log.append(
        conn,
        [
            events.inbox_event(agent_id, item_id, kind, message.id, message.author)
            for item_id, (agent_id, kind) in zip(item_ids, inbox, strict=True)
        ],
    )


async def post_many(conn: Session, news: list[NewMessage]) -> list[PostResult]:
    return [await post(conn, new) for new in news]


async def page(
    conn: Session,
    channel_id: int,
    after: int | None,
    before: int | None,
    limit: int,
    kind: str | None = None,
) -> list[Message]:
    """Oldest first: the ``limit`` after ``after``, else the newest ``limit`` (before
    ``before``); only messages of ``kind`` if given."""
    if after is not None:
        query = AFTER if kind is None else AFTER_KIND
        return await conn.models(
            rows.MESSAGES, query, channel=channel_id, after=after, limit=limit, kind=kind
        )
    if kind is None:
        query = NEWEST if before is None else BEFORE
    else:
        query = NEWEST_KIND if before is None else BEFORE_KIND
    found = await conn.models(
        rows.MESSAGES, query, channel=channel_id, before=before, limit=limit, kind=kind
    )
    found.reverse()
    return found


@dataclass(frozen=True, slots=True)
class Window:
    """Where a time-bounded page lies: an id bound and the times messages were created in."""

    after: int | None
    before: int | None
    since: datetime | None
    until: datetime | None

    @property
    def forward(self) -> bool:
        """True if the page is the first ``limit`` of the window, not the last."""
        return self.after is not None or (self.since is not None and self.before is None)


async def window(
    conn: Session, channel_id: int, bounds: Window, limit: int, kind: str | None = None
) -> list[Message]:
    """Oldest first: the ``limit`` first messages of the window when it pages forward, else
    its ``limit`` newest; only messages of ``kind`` if given."""
    found = await conn.models(
        rows.MESSAGES,
        WINDOW_FIRST if bounds.forward else WINDOW_LAST,
        channel=channel_id,
        kind=kind,
        after=bounds.after,
        before=bounds.before,
        since=None if bounds.since is None else to_us(bounds.since),
        until=None if bounds.until is None else to_us(bounds.until),
        limit=limit,
    )
    if not bounds.forward:
        found.reverse()
    return found


async def newest_readable(conn: Session, agent_id: int) -> int:
    """The newest message id in a public channel or a channel or DM the agent is in."""
    return int(await conn.value(NEWEST_READABLE, agent=agent_id))


async def thread(conn: Session, root_id: int) -> list[Message]:
    return await conn.models(rows.MESSAGES, THREAD, root=root_id)


async def edit(conn: Session, change: MessageEdit) -> Message:
    await conn.run(
        EDIT,
        content=change.content,
        metadata=None if change.metadata is None else rows.dumps(change.metadata),
        mentions=None if change.mentions is None else rows.dumps(change.mentions),
        now=now_us(),
        id=change.message_id,
    )
    message = await _must(conn, change.message_id)
    edited = events.message_event(
        events.MESSAGE_EDITED, message, await _channel_id(conn, message.id)
    )
    await event_log.append(conn, [edited])
    await _deliver(conn, message, change.new_inbox)
    return message


async def delete(conn: Session, message_id: int) -> Message:
    await conn.run(DELETE, now=now_us(), id=message_id)
    message = await _must(conn, message_id)
    deleted = events.message_event(
        events.MESSAGE_DELETED, message, await _channel_id(conn, message_id)
    )
    await event_log.append(conn, [deleted])
    await files.detach(conn, message_id)  # what it shared goes with it
    return message


async def _channel_id(conn: Session, message_id: int) -> int:
    return int(await conn.value(CHANNEL_OF, id=message_id))
