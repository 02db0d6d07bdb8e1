"""Remote A2A agents: their registrations (each with its hub agent of kind 'a2a'), the outbox
of DMs, mentions and task offers forwarded to them, the dispatcher's cursor over the event log
and the remote conversation each hub thread continues."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict

from hubbub.core.errors import Conflict, NotFound
from hubbub.core.events import INBOX_ITEM
from hubbub.core.models import A2AOutboxItem, A2ARemote
from hubbub.core.store import A2AContext, A2AScan, DueForward, ForwardAttempt, NewForward, NewRemote
from hubbub.store import agents
from hubbub.store import events as event_log
from hubbub.store.rows import dumps, loads
from hubbub.store.sql import Query, Row, Session
from hubbub.store.times import maybe_time, now_us, to_time, to_us

# The pseudo-machine of remote agents: no machine key acts as an agent of kind 'a2a'.
A2A_MACHINE = "a2a"
TOKEN_HINT = 4  # characters of a token shown back

TAKEN = Query("SELECT 1 FROM agents WHERE name = :name")
NEW_AGENT = Query(
    lambda d: (
        "INSERT INTO agents (name, machine, kind, label, tags, capabilities, created_at, "
        f"updated_at) VALUES (:name, :machine, 'a2a', :label, {d.json_param('tags')}, "
        f"{d.json_param('capabilities')}, :now, :now) RETURNING id"
    )
)
CREATE = Query(
    lambda d: (
        "INSERT INTO a2a_remotes (agent_id, url, token, card, created_at) "
        f"VALUES (:agent, :url, :token, {d.json_param('card')}, :now)"
    )
)
# Each remote with its agent and how many of its items wait or were given up on.
LISTING = (
    "SELECT a.name, a.label, a.capabilities, r.url, r.token, r.card, r.created_at, "
    "(SELECT count(*) FROM a2a_outbox o WHERE o.agent_id = r.agent_id "
    "AND o.status = 'pending') AS pending, "
    "(SELECT count(*) FROM a2a_outbox o WHERE o.agent_id = r.agent_id "
    "AND o.status = 'failed') AS failed "
    "FROM a2a_remotes r JOIN agents a ON a.id = r.agent_id"
)
ALL = Query(LISTING + " ORDER BY a.name")
BY_NAME = Query(LISTING + " WHERE a.name = :name")
REMOTE_ID = Query(
    "SELECT r.agent_id FROM a2a_remotes r JOIN agents a ON a.id = r.agent_id WHERE a.name = :name"
)
DROP = Query("DELETE FROM a2a_remotes WHERE agent_id = :id")
GIVE_UP = Query(
    "UPDATE a2a_outbox SET status = 'failed', last_error = 'the remote agent was removed' "
    "WHERE agent_id = :id AND status = 'pending'"
)

CURSOR = Query("SELECT seq FROM a2a_cursor WHERE id = 1")
# Only inbox items of remote agents are forwarded, so only their payloads are read.
EVENTS = Query(
    "SELECT seq, type, channel_id, agent_id, created_at, "
    "CASE WHEN type = :type AND agent_id IN (SELECT agent_id FROM a2a_remotes) "
    "THEN payload END AS payload "
    "FROM events WHERE seq > :seq ORDER BY seq LIMIT :limit"
)
ANY_REMOTE = Query("SELECT EXISTS (SELECT 1 FROM a2a_remotes)")
ADVANCE = Query("UPDATE a2a_cursor SET seq = :upto WHERE id = 1 AND seq = :start")
HEADS = Query(
    "SELECT o.*, a.name AS agent, r.url, r.token "
    "FROM (SELECT min(id) AS id FROM a2a_outbox WHERE status = 'pending' "
    "GROUP BY agent_id) h JOIN a2a_outbox o ON o.id = h.id "
    "JOIN a2a_remotes r ON r.agent_id = o.agent_id JOIN agents a ON a.id = o.agent_id "
    "ORDER BY o.next_attempt_at, o.id LIMIT :limit"
)
CLAIM = Query(
    "UPDATE a2a_outbox SET next_attempt_at = :until "
    "WHERE id = :id AND status = 'pending' AND next_attempt_at <= :now"
)
RECORD = Query(
    "UPDATE a2a_outbox SET status = :status, attempts = attempts + :counts, "
    "last_attempt_at = coalesce(CAST(:attempted AS BIGINT), last_attempt_at), "
    "last_error = :error, next_attempt_at = coalesce(CAST(:next AS BIGINT), next_attempt_at), "
    "sent_at = CAST(:sent AS BIGINT) WHERE id = :id AND status = 'pending'"
)
PRUNE = Query("DELETE FROM a2a_outbox WHERE created_at < :before AND status != 'pending'")
CONTEXT = Query(
    "SELECT context_id, task_id FROM a2a_contexts "
    "WHERE agent_id = :agent AND channel_id = :channel AND thread_id = :thread"
)
KEEP_CONTEXT = Query(
    "INSERT INTO a2a_contexts (agent_id, channel_id, thread_id, context_id, task_id, "
    "updated_at) VALUES (:agent, :channel, :thread, :context, :task, :now) "
    "ON CONFLICT (agent_id, channel_id, thread_id) DO UPDATE SET "
    "context_id = excluded.context_id, task_id = excluded.task_id, "
    "updated_at = excluded.updated_at"
)
# Listing filters, by the argument that sets each.
FILTERS = {"agent": "a.name = :agent", "status": "o.status = :status"}


def remote(row: Row) -> A2ARemote:
    """A remote's row (with its agent's) as a model: only the start of its token."""
    token = row["token"]
    return A2ARemote(
        **{c: row[c] for c in ("name", "label", "url", "pending", "failed")},
        description=(loads(row["card"]) or {}).get("description") or None,
        capabilities=loads(row["capabilities"]),
        token_hint=None if not token else token[:TOKEN_HINT] + "…",
        card=loads(row["card"]) or {},
        created_at=to_time(row["created_at"]),
    )


async def create(conn: Session, spec: NewRemote) -> A2ARemote:
    """Register a remote and create its agent; a name any agent has is taken."""
    if await conn.row(TAKEN, name=spec.name) is not None:
        raise Conflict(f"the name {spec.name!r} is already taken", code="name_taken")
    now = now_us()
    agent_id = await conn.value(
        NEW_AGENT,
        name=spec.name,
        machine=A2A_MACHINE,
        label=spec.label,
        tags=dumps(list(spec.tags)),
        capabilities=dumps(list(spec.capabilities)),
        now=now,
    )
    await conn.run(
        CREATE, agent=agent_id, url=spec.url, token=spec.token, card=dumps(spec.card), now=now
    )
    found = await by_name(conn, spec.name)
    assert found is not None
    return found


async def list_all(conn: Session) -> list[A2ARemote]:
    return [remote(r) for r in await conn.rows(ALL)]


async def by_name(conn: Session, name: str) -> A2ARemote | None:
    row = await conn.row(BY_NAME, name=name)
    return None if row is None else remote(row)


async def remove(conn: Session, name: str) -> A2ARemote:
    """Drop the registration, give up its pending items and delete its agent (its messages
    stay under its name)."""
    found = await by_name(conn, name)
    agent_id = await conn.value(REMOTE_ID, name=name)
    if found is None or agent_id is None:
        raise NotFound(f"no remote A2A agent named {name!r}", code="a2a_remote_not_found")
    await conn.run(GIVE_UP, id=agent_id)
    await conn.run(DROP, id=agent_id)
    await agents.set_state(conn, name, "delete")
    return found


async def scan(conn: Session, limit: int) -> A2AScan:
    """Read up to ``limit`` events after the cursor; decode only remote agents' inbox items.
    With no remote agent at all, none of the log can be for one: the scan ends at its last
    event (read first, so an agent registered meanwhile is seen and its items are not
    skipped), without reading the rest page by page."""
    start = int(await conn.value(CURSOR))
    last = await event_log.last_seq(conn)
    if last > start and not await conn.value(ANY_REMOTE):
        return A2AScan(start, last, [])
    read = await conn.rows(EVENTS, type=INBOX_ITEM, seq=start, limit=limit)
    found = [event_log.stored(r) for r in read if r["payload"] is not None]
    return A2AScan(start, read[-1]["seq"] if read else start, found)


async def enqueue(conn: Session, start: int, upto: int, items: Sequence[NewForward]) -> bool:
    """Move the cursor from ``start`` to ``upto`` and queue the items found between; False,
    queueing nothing, if another dispatcher moved it first."""
    if not await conn.run(ADVANCE, upto=upto, start=start):
        return False
    times = dict.fromkeys(("next_attempt_at", "created_at"), now_us())
    await conn.insert("a2a_outbox", [asdict(i) | times for i in items], ignore_conflicts=True)
    return True


async def heads(conn: Session, limit: int) -> list[DueForward]:
    """The oldest pending item of each remote, with where and how to send it."""
    return [
        DueForward(
            **{c: r[c] for c in ("id", "agent_id", "agent", "url", "token", "item_id")},
            **{c: r[c] for c in ("message_id", "kind", "attempts")},
            created_at=to_time(r["created_at"]),
            next_attempt_at=to_time(r["next_attempt_at"]),
        )
        for r in await conn.rows(HEADS, limit=limit)
    ]


async def claim(conn: Session, item_id: int, now: int, until: int) -> bool:
    """Hold a due item until ``until`` while it is sent; False if it is not due."""
    return await conn.run(CLAIM, id=item_id, now=now, until=until) == 1


async def record(conn: Session, attempt: ForwardAttempt) -> None:
    """Record an attempt on an item still pending."""
    now = now_us()
    await conn.run(
        RECORD,
        id=attempt.item_id,
        status=attempt.status,
        counts=1 if attempt.counts else 0,
        attempted=now if attempt.counts else None,
        error=attempt.error,
        next=None if attempt.next_attempt_at is None else to_us(attempt.next_attempt_at),
        sent=now if attempt.status == "sent" else None,
    )


async def outbox(
    conn: Session, agent: str | None, status: str | None, limit: int
) -> list[A2AOutboxItem]:
    """Items matching the filters, newest first."""
    params = {k: v for k, v in (("agent", agent), ("status", status)) if v is not None}
    found = await conn.rows(_outbox(tuple(params)), **params, limit=limit)
    return [item(r) for r in found]


@functools.cache
def _outbox(filters: tuple[str, ...]) -> Query:
    """The listing statement for one set of filters (each set rendered once)."""
    where = "".join(f" AND {FILTERS[f]}" for f in filters)
    return Query(
        "SELECT o.*, a.name AS agent FROM a2a_outbox o JOIN agents a ON a.id = o.agent_id "
        f"WHERE 1 = 1{where} ORDER BY o.id DESC LIMIT :limit"
    )


def item(row: Row) -> A2AOutboxItem:
    """An a2a_outbox row (with its agent's name) as a model."""
    pending = row["status"] == "pending"
    return A2AOutboxItem(
        **{c: row[c] for c in ("id", "agent", "kind", "message_id", "status", "attempts")},
        last_error=row["last_error"],
        **{c: maybe_time(row[c]) for c in ("created_at", "last_attempt_at", "sent_at")},
        next_attempt_at=to_time(row["next_attempt_at"]) if pending else None,
    )


async def prune(conn: Session, before_us: int) -> int:
    """Drop finished items created before ``before_us``."""
    return await conn.run(PRUNE, before=before_us)


async def context(conn: Session, agent_id: int, channel_id: int, thread_id: int) -> A2AContext:
    """The remote conversation a hub thread continues (empty: none yet)."""
    row = await conn.row(CONTEXT, agent=agent_id, channel=channel_id, thread=thread_id)
    return A2AContext() if row is None else A2AContext(row["context_id"], row["task_id"])


async def keep_context(
    conn: Session, agent_id: int, channel_id: int, thread_id: int, found: A2AContext
) -> None:
    """Remember the remote conversation a hub thread continues."""
    if found.context_id is None:
        return
    await conn.run(
        KEEP_CONTEXT,
        agent=agent_id,
        channel=channel_id,
        thread=thread_id,
        context=found.context_id,
        task=found.task_id,
        now=now_us(),
    )
