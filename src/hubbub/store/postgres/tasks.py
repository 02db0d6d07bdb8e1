"""Task queries and transactions. Every claim and every holder's change is one conditional
``UPDATE … RETURNING``: it applies only to a row still in the state it expects, so exactly
one claimer wins whatever the concurrency (the write lock serialises writers anyway)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from psycopg.types.json import Jsonb
from pydantic import TypeAdapter

from hubbub.core import events
from hubbub.core.errors import Conflict
from hubbub.core.events import StoredEvent
from hubbub.core.models import Task, TaskCreated
from hubbub.core.store import NewTask, StoredTask, TaskChange, TaskQuery
from hubbub.core.tasks import offer
from hubbub.store.postgres import channels, messages, rows
from hubbub.store.postgres import events as event_log
from hubbub.store.postgres.rows import Conn

TASK_JSON = f"""json_build_object(
    'id', t.id, 'title', t.title, 'body', t.body, 'target', t.target, 'channel', c.name,
    'priority', t.priority, 'labels', t.labels, 'status', t.status,
    'created_by', cr.name, 'holder', h.name, 'fence', t.fence,
    'lease_seconds', t.lease_seconds, 'lease_expires_at', {rows.iso("t.lease_expires_at")},
    'attempts', t.attempts, 'max_attempts', t.max_attempts,
    'progress', t.progress, 'progress_note', t.progress_note,
    'result', t.result, 'result_text', t.result_text,
    'dedupe_key', t.dedupe_key, 'occurrences', t.occurrences,
    'last_seen_at', {rows.iso("t.last_seen_at")}, 'due_at', {rows.iso("t.due_at")},
    'created_at', {rows.iso("t.created_at")}, 'updated_at', {rows.iso("t.updated_at")}
)"""
TASK_FROM = """tasks t JOIN agents cr ON cr.id = t.created_by
    LEFT JOIN agents h ON h.id = t.holder_id LEFT JOIN channels c ON c.id = t.channel_id"""
TASKS: TypeAdapter[list[Task]] = TypeAdapter(list[Task])

# The targets an agent answers to: itself, its capabilities and tags, its channels.
WANTED = """
    SELECT '@' || a.name FROM agents a WHERE a.id = %(me)s
    UNION ALL SELECT 'cap:' || j FROM agents a, jsonb_array_elements_text(a.capabilities) j
               WHERE a.id = %(me)s
    UNION ALL SELECT 'tag:' || j FROM agents a, jsonb_array_elements_text(a.tags) j
               WHERE a.id = %(me)s
    UNION ALL SELECT '#' || ch.name FROM members m JOIN channels ch ON ch.id = m.channel_id
               WHERE m.agent_id = %(me)s AND ch.kind = 'channel'
"""
# Claim-next: the best open task per wanted target (one seek each on tasks_claimable), then
# the best of those. Tasks the agent created are not for it. LATERAL keeps the per-target
# seek in every plan: the form SQLite uses (a join on a correlated subquery) lets a generic
# plan of the prepared statement scan the whole table instead.
BEST_FOR_ME = f"""
    WITH wanted(target) AS ({WANTED})
    SELECT best.id FROM wanted w CROSS JOIN LATERAL (
        SELECT x.id, x.priority FROM tasks x
         WHERE x.status = 'open' AND x.target = w.target AND x.created_by != %(me)s
         ORDER BY x.priority DESC, x.id LIMIT 1) best
    ORDER BY best.priority DESC, best.id LIMIT 1
"""
# Claiming one task by id: the agent is its @agent, has its cap: or tag:, or may read its
# #channel (public, or a member).
MAY_CLAIM = """(
    tasks.target IN (
        SELECT '@' || a.name FROM agents a WHERE a.id = %(me)s
        UNION ALL SELECT 'cap:' || j FROM agents a, jsonb_array_elements_text(a.capabilities) j
                   WHERE a.id = %(me)s
        UNION ALL SELECT 'tag:' || j FROM agents a, jsonb_array_elements_text(a.tags) j
                   WHERE a.id = %(me)s)
    OR (left(tasks.target, 1) = '#' AND (
        EXISTS (SELECT 1 FROM channels ch WHERE ch.id = tasks.channel_id
                AND ch.kind = 'channel' AND ch.visibility = 'public')
        OR EXISTS (SELECT 1 FROM members m WHERE m.channel_id = tasks.channel_id
                   AND m.agent_id = %(me)s))))"""
LEASE = "round(coalesce(%(lease)s::float8, {fallback}) * 1000000)::bigint"
CLAIM_SET = f"""
    status = 'claimed', holder_id = %(me)s, fence_holder_id = %(me)s, fence = fence + 1,
    lease_lost = 0, claim_lease_seconds = coalesce(%(lease)s::float8, lease_seconds),
    lease_expires_at = %(now)s + {LEASE.format(fallback="lease_seconds")},
    progress = NULL, progress_note = NULL, updated_at = %(now)s
"""
HELD = "id = %(id)s AND status = 'claimed' AND fence = %(fence)s AND holder_id = %(me)s"
CHANGES = {
    "renew": (
        events.TASK_RENEWED,
        "claim_lease_seconds = coalesce(%(lease)s::float8, claim_lease_seconds), "
        f"lease_expires_at = %(now)s + {LEASE.format(fallback='claim_lease_seconds')}",
    ),
    "progress": (
        events.TASK_PROGRESS,
        "progress = coalesce(%(progress)s::bigint, progress), "
        "progress_note = coalesce(%(note)s::text, progress_note), "
        "lease_expires_at = %(now)s + round(claim_lease_seconds * 1000000)::bigint",
    ),
    "complete": (
        events.TASK_COMPLETED,
        "status = 'done', progress = 100, result = %(result)s::json, result_text = %(text)s, "
        "lease_expires_at = NULL",
    ),
    "fail": (
        events.TASK_FAILED,
        "status = 'failed', result = %(result)s::json, result_text = %(text)s, "
        "lease_expires_at = NULL",
    ),
    "release": (
        events.TASK_RELEASED,
        "status = 'open', holder_id = NULL, fence_holder_id = NULL, lease_expires_at = NULL",
    ),
}


def _select(where: str) -> str:
    return f"SELECT {TASK_JSON}::text FROM {TASK_FROM} WHERE {where}"


async def by_id(conn: Conn, task_id: int) -> Task | None:
    found = await rows.parse_all(TASKS, conn, _select("t.id = %s"), (task_id,))
    return found[0] if found else None


async def _must(conn: Conn, task_id: int) -> Task:
    task = await by_id(conn, task_id)
    assert task is not None, task_id
    return task


async def stored(conn: Conn, task_id: int) -> StoredTask | None:
    row = await rows.one(
        conn,
        f"SELECT {TASK_JSON}::text AS task, fh.name AS fence_holder, t.lease_lost "
        f"FROM {TASK_FROM} LEFT JOIN agents fh ON fh.id = t.fence_holder_id WHERE t.id = %s",
        (task_id,),
    )
    if row is None:
        return None
    return StoredTask(
        Task.model_validate_json(row["task"]), row["fence_holder"], bool(row["lease_lost"])
    )


async def by_key(conn: Conn, agent_id: int, key: str) -> tuple[Task, str] | None:
    row = await rows.one(
        conn,
        "SELECT task_id, fingerprint FROM task_keys WHERE agent_id = %s AND key = %s",
        (agent_id, key),
    )
    return None if row is None else (await _must(conn, row["task_id"]), row["fingerprint"])


async def _channel_id(conn: Conn, task_id: int) -> int | None:
    row = await rows.one(conn, "SELECT channel_id FROM tasks WHERE id = %s", (task_id,))
    return None if row is None else row["channel_id"]


async def _record(conn: Conn, kind: str, task: Task, by: str | None, **extra: Any) -> None:
    """Append the event of a change to ``task``, scoped like the task."""
    channel_id = await _channel_id(conn, task.id)
    await event_log.append(conn, [events.task_event(kind, task, channel_id, by, **extra)])


async def create(conn: Conn, new: NewTask) -> TaskCreated:
    """Insert a task with its event and offers, bump its active duplicate, or replay."""
    if new.idempotency_key is not None:
        earlier = await by_key(conn, new.created_by, new.idempotency_key)
        if earlier is not None:
            if earlier[1] != new.fingerprint:
                raise Conflict(
                    f"Idempotency-Key was already used for task {earlier[0].id} with a "
                    "different body",
                    code="idempotency_conflict",
                )
            return TaskCreated(task=earlier[0], replayed=True)
    now = rows.now_us()
    if new.dedupe_key is not None:
        found = await rows.one(
            conn,
            "UPDATE tasks SET occurrences = occurrences + 1, last_seen_at = %s, updated_at = %s "
            "WHERE created_by = %s AND dedupe_key = %s AND status IN ('open', 'claimed') "
            "RETURNING id",
            (now, now, new.created_by, new.dedupe_key),
        )
        if found is not None:
            task = await _must(conn, found["id"])
            await _record(conn, events.TASK_DEDUPED, task, new.creator_name)
            await _remember(conn, new, task.id)
            return TaskCreated(task=task, deduped=True)
    channel_id = None if new.channel is None else await channels.resolve(conn, new.channel)
    task_id = await rows.scalar(
        conn,
        "INSERT INTO tasks (title, body, target, channel_id, priority, labels, created_by, "
        "lease_seconds, max_attempts, dedupe_key, last_seen_at, due_at, callback_url, "
        "callback_secret, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            new.title,
            new.body,
            new.target,
            channel_id,
            new.priority,
            Jsonb(new.labels),
            new.created_by,
            new.lease_seconds,
            new.max_attempts,
            new.dedupe_key,
            now,
            None if new.due_at is None else rows.to_us(new.due_at),
            new.callback_url,
            new.callback_secret,
            now,
            now,
        ),
    )
    task = await _must(conn, task_id)
    await event_log.append(
        conn, [events.task_event(events.TASK_CREATED, task, channel_id, new.creator_name)]
    )
    content, metadata = offer(task)
    for message in new.offers:
        await messages.post(conn, replace(message, content=content, metadata=metadata))
    await _remember(conn, new, task.id)
    return TaskCreated(task=task)


async def _remember(conn: Conn, new: NewTask, task_id: int) -> None:
    if new.idempotency_key is not None:
        await conn.execute(
            "INSERT INTO task_keys (agent_id, key, task_id, fingerprint) VALUES (%s, %s, %s, %s)",
            (new.created_by, new.idempotency_key, task_id, new.fingerprint),
        )


async def search(conn: Conn, query: TaskQuery) -> list[Task]:
    clauses = ["t.id > %(after)s"]
    params: dict[str, Any] = {"after": query.after, "limit": query.limit}
    if query.viewer_id is not None:
        clauses.append(
            "(t.channel_id IS NULL OR (c.kind = 'channel' AND c.visibility = 'public') OR "
            "EXISTS (SELECT 1 FROM members mb WHERE mb.channel_id = t.channel_id "
            "AND mb.agent_id = %(viewer)s))"
        )
        params["viewer"] = query.viewer_id
    for column, value in (
        ("status", query.status),
        ("target", query.target),
        ("holder_id", query.holder_id),
        ("created_by", query.created_by),
    ):
        if value is not None:
            clauses.append(f"t.{column} = %({column})s")
            params[column] = value
    if query.label is not None:
        clauses.append("t.labels @> %(label)s")
        params["label"] = Jsonb([query.label])
    if query.available_to is not None:
        # An array computed once: a semi-join on WANTED re-runs it for every open task in a
        # generic plan.
        clauses.append(
            f"t.status = 'open' AND t.created_by != %(me)s AND t.target = ANY(ARRAY({WANTED}))"
        )
        params["me"] = query.available_to
    sql = f"{_select(' AND '.join(clauses))} ORDER BY t.id LIMIT %(limit)s"
    return await rows.parse_all(TASKS, conn, sql, params)


async def claim(conn: Conn, task_id: int, agent_id: int, lease: float | None) -> Task | None:
    """Claim one task if it is open and the agent may claim it (a lease run out first
    expires, as the sweep would)."""
    now = rows.now_us()
    await expire(conn, now, only=task_id)
    params = {"id": task_id, "me": agent_id, "lease": lease, "now": now}
    found = await rows.one(
        conn,
        f"UPDATE tasks SET {CLAIM_SET} WHERE id = %(id)s AND status = 'open' AND {MAY_CLAIM} "
        "RETURNING id",
        params,
    )
    return None if found is None else await _claimed(conn, found["id"])


async def claim_next(conn: Conn, agent_id: int, lease: float | None) -> Task | None:
    """Claim the best open task for the agent, in one statement."""
    now = rows.now_us()
    await expire(conn, now)
    params = {"me": agent_id, "lease": lease, "now": now}
    found = await rows.one(
        conn,
        f"UPDATE tasks SET {CLAIM_SET} WHERE id = ({BEST_FOR_ME}) AND status = 'open' RETURNING id",
        params,
    )
    return None if found is None else await _claimed(conn, found["id"])


async def _claimed(conn: Conn, task_id: int) -> Task:
    task = await _must(conn, task_id)
    await _record(conn, events.TASK_CLAIMED, task, task.holder)
    return task


async def change(conn: Conn, change: TaskChange) -> Task | None:
    """A holder's change, applied only under its fence and a live lease."""
    kind, assignments = CHANGES[change.op]
    now = rows.now_us()
    params = {
        "id": change.task_id,
        "me": change.agent_id,
        "fence": change.fence,
        "now": now,
        "lease": change.lease_seconds,
        "progress": change.progress,
        "note": change.note,
        "result": None if change.result is None else orjson.dumps(change.result).decode(),
        "text": change.result_text,
    }
    found = await rows.one(
        conn,
        f"UPDATE tasks SET {assignments}, updated_at = %(now)s "
        f"WHERE {HELD} AND lease_expires_at > %(now)s RETURNING id",
        params,
    )
    if found is None:
        return None
    task = await _must(conn, found["id"])
    await _record(conn, kind, task, await _name(conn, change.agent_id))
    return task


async def _name(conn: Conn, agent_id: int) -> str:
    row = await rows.one(conn, "SELECT name FROM agents WHERE id = %s", (agent_id,))
    assert row is not None
    return str(row["name"])


async def cancel(conn: Conn, task_id: int, agent_id: int, reason: str | None) -> Task | None:
    now = rows.now_us()
    found = await rows.one(
        conn,
        "UPDATE tasks SET status = 'cancelled', lease_expires_at = NULL, "
        "result_text = coalesce(%s, result_text), updated_at = %s "
        "WHERE id = %s AND status IN ('open', 'claimed') RETURNING id",
        (reason, now, task_id),
    )
    if found is None:
        return None
    task = await _must(conn, task_id)
    await _record(conn, events.TASK_CANCELLED, task, await _name(conn, agent_id), reason=reason)
    return task


async def expire(conn: Conn, now: int | None = None, *, only: int | None = None) -> list[Task]:
    """Every claimed task whose lease has run out (or just ``only``) goes back to open with
    one more attempt, or fails once it has used up ``max_attempts``."""
    now = rows.now_us() if now is None else now
    sql = (
        "SELECT t.id, t.attempts + 1 >= t.max_attempts AS failing, a.name AS holder "
        "FROM tasks t LEFT JOIN agents a ON a.id = t.holder_id "
        "WHERE t.status = 'claimed' AND t.lease_expires_at <= %s"
    )
    params: tuple[int, ...] = (now,)
    if only is not None:
        sql += " AND t.id = %s"
        params = (now, only)
    expired = []
    for row in await rows.all_rows(conn, sql + " ORDER BY t.id", params):
        failing = bool(row["failing"])
        note = "the lease ran out on the last allowed attempt" if failing else None
        await conn.execute(
            "UPDATE tasks SET status = CASE WHEN %s THEN 'failed' ELSE 'open' END, "
            "attempts = attempts + 1, holder_id = NULL, lease_expires_at = NULL, lease_lost = 1, "
            "result_text = coalesce(%s, result_text), updated_at = %s WHERE id = %s",
            (failing, note, now, row["id"]),
        )
        task = await _must(conn, row["id"])
        await _record(
            conn,
            events.TASK_EXPIRED,
            task,
            None,
            previous_holder=row["holder"],
            reopened=not failing,
        )
        expired.append(task)
    return expired


async def next_expiry(conn: Conn) -> datetime | None:
    row = await rows.one(
        conn, "SELECT min(lease_expires_at) AS at FROM tasks WHERE status = 'claimed'"
    )
    return None if row is None else rows.maybe_time(row["at"])


async def history(conn: Conn, task_id: int, after: int, limit: int) -> list[StoredEvent]:
    """The task's events after ``after``, through the ``events_by_task`` index."""
    return [
        StoredEvent(
            r["seq"],
            r["type"],
            orjson.loads(r["payload"]),
            rows.to_time(r["created_at"]),
            r["channel_id"],
            r["agent_id"],
        )
        for r in await rows.all_rows(
            conn,
            "SELECT seq, type, channel_id, agent_id, payload::text AS payload, created_at "
            "FROM events WHERE type LIKE 'task.%%' "
            "AND ((payload -> 'task' ->> 'id')::bigint) = %s AND seq > %s ORDER BY seq LIMIT %s",
            (task_id, after, limit),
        )
    ]
