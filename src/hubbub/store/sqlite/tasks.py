"""Task queries and transactions. Every claim and every holder's change is one conditional
``UPDATE … RETURNING``: it applies only to a row still in the state it expects, so exactly
one claimer wins whatever the concurrency (here the single writer serialises them anyway; on
a server database the same statements stay correct under row locks)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from pydantic import TypeAdapter

from hubbub.core import events
from hubbub.core.errors import Conflict
from hubbub.core.events import StoredEvent
from hubbub.core.models import Task, TaskCreated
from hubbub.core.offers import offer
from hubbub.core.store import NewTask, StoredTask, TaskChange, TaskQuery
from hubbub.store.sqlite import channels, messages, rows
from hubbub.store.sqlite import events as event_log

TASK_JSON = f"""json_object(
    'id', t.id, 'title', t.title, 'body', t.body, 'target', t.target, 'channel', c.name,
    'priority', t.priority, 'labels', json(t.labels), 'status', t.status,
    'created_by', cr.name, 'holder', h.name, 'fence', t.fence,
    'lease_seconds', t.lease_seconds, 'lease_expires_at', {rows.iso("t.lease_expires_at")},
    'attempts', t.attempts, 'max_attempts', t.max_attempts,
    'progress', t.progress, 'progress_note', t.progress_note,
    'result', json(t.result), 'result_text', t.result_text,
    'dedupe_key', t.dedupe_key, 'occurrences', t.occurrences,
    'last_seen_at', {rows.iso("t.last_seen_at")}, 'due_at', {rows.iso("t.due_at")},
    'created_at', {rows.iso("t.created_at")}, 'updated_at', {rows.iso("t.updated_at")}
)"""
TASK_FROM = """tasks t JOIN agents cr ON cr.id = t.created_by
    LEFT JOIN agents h ON h.id = t.holder_id LEFT JOIN channels c ON c.id = t.channel_id"""
TASKS: TypeAdapter[list[Task]] = TypeAdapter(list[Task])

# The targets an agent answers to: itself, its capabilities and tags, its channels.
WANTED = """
    SELECT '@' || a.name FROM agents a WHERE a.id = :me
    UNION ALL SELECT 'cap:' || j.value FROM agents a, json_each(a.capabilities) j WHERE a.id = :me
    UNION ALL SELECT 'tag:' || j.value FROM agents a, json_each(a.tags) j WHERE a.id = :me
    UNION ALL SELECT '#' || ch.name FROM members m JOIN channels ch ON ch.id = m.channel_id
               WHERE m.agent_id = :me AND ch.kind = 'channel'
"""
# Claim-next: the best open task per wanted target (one seek each on tasks_claimable), then
# the best of those. Tasks the agent created are not for it.
BEST_FOR_ME = f"""
    WITH wanted(target) AS ({WANTED}),
    best(id, priority) AS (
        SELECT t.id, t.priority FROM wanted w JOIN tasks t ON t.id = (
            SELECT x.id FROM tasks x
             WHERE x.status = 'open' AND x.target = w.target AND x.created_by != :me
             ORDER BY x.priority DESC, x.id LIMIT 1))
    SELECT id FROM best ORDER BY priority DESC, id LIMIT 1
"""
# Claiming one task by id: the agent is its @agent, has its cap: or tag:, or may read its
# #channel (public, or a member).
MAY_CLAIM = """(
    tasks.target IN (WITH wanted(target) AS (
        SELECT '@' || a.name FROM agents a WHERE a.id = :me
        UNION ALL SELECT 'cap:' || j.value FROM agents a, json_each(a.capabilities) j
                   WHERE a.id = :me
        UNION ALL SELECT 'tag:' || j.value FROM agents a, json_each(a.tags) j WHERE a.id = :me)
        SELECT target FROM wanted)
    OR (tasks.target GLOB '#*' AND (
        EXISTS (SELECT 1 FROM channels ch WHERE ch.id = tasks.channel_id
                AND ch.kind = 'channel' AND ch.visibility = 'public')
        OR EXISTS (SELECT 1 FROM members m WHERE m.channel_id = tasks.channel_id
                   AND m.agent_id = :me))))"""
# A new lease: from now, the claim's own length (or the task's).
LEASE_END = "(:now + CAST(round(claim_lease_seconds * 1000000) AS INTEGER))"
CLAIM_SET = """
    status = 'claimed', holder_id = :me, fence_holder_id = :me, fence = fence + 1,
    lease_lost = 0, claim_lease_seconds = coalesce(:lease, lease_seconds),
    lease_expires_at = :now + CAST(round(coalesce(:lease, lease_seconds) * 1000000) AS INTEGER),
    progress = NULL, progress_note = NULL, updated_at = :now
"""
HELD = "id = :id AND status = 'claimed' AND fence = :fence AND holder_id = :me"
CHANGES = {
    "renew": (
        events.TASK_RENEWED,
        "claim_lease_seconds = coalesce(:lease, claim_lease_seconds), "
        "lease_expires_at = :now + CAST(round(coalesce(:lease, claim_lease_seconds) * 1000000) "
        "AS INTEGER)",
    ),
    "progress": (
        events.TASK_PROGRESS,
        "progress = coalesce(:progress, progress), "
        f"progress_note = coalesce(:note, progress_note), lease_expires_at = {LEASE_END}",
    ),
    "complete": (
        events.TASK_COMPLETED,
        "status = 'done', progress = 100, result = :result, result_text = :text, "
        "lease_expires_at = NULL",
    ),
    "fail": (
        events.TASK_FAILED,
        "status = 'failed', result = :result, result_text = :text, lease_expires_at = NULL",
    ),
    "release": (
        events.TASK_RELEASED,
        "status = 'open', holder_id = NULL, fence_holder_id = NULL, lease_expires_at = NULL",
    ),
}


def _select(where: str) -> str:
    return f"SELECT {TASK_JSON} FROM {TASK_FROM} WHERE {where}"


def by_id(conn: sqlite3.Connection, task_id: int) -> Task | None:
    found = rows.parse_all(TASKS, conn.execute(_select("t.id = ?"), (task_id,)))
    return found[0] if found else None


def _must(conn: sqlite3.Connection, task_id: int) -> Task:
    task = by_id(conn, task_id)
    assert task is not None, task_id
    return task


def stored(conn: sqlite3.Connection, task_id: int) -> StoredTask | None:
    row = conn.execute(
        f"SELECT {TASK_JSON}, fh.name, t.lease_lost FROM {TASK_FROM} "
        "LEFT JOIN agents fh ON fh.id = t.fence_holder_id WHERE t.id = ?",
        (task_id,),
    ).fetchone()
    if row is None:
        return None
    return StoredTask(Task.model_validate_json(row[0]), row[1], bool(row[2]))


def by_key(conn: sqlite3.Connection, agent_id: int, key: str) -> tuple[Task, str] | None:
    row = conn.execute(
        "SELECT task_id, fingerprint FROM task_keys WHERE agent_id = ? AND key = ?",
        (agent_id, key),
    ).fetchone()
    return None if row is None else (_must(conn, row[0]), row[1])


def _channel_id(conn: sqlite3.Connection, task_id: int) -> int | None:
    row = conn.execute("SELECT channel_id FROM tasks WHERE id = ?", (task_id,)).fetchone()
    return None if row is None else row[0]


def _record(conn: sqlite3.Connection, kind: str, task: Task, by: str | None, **extra: Any) -> None:
    """Append the event of a change to ``task``, scoped like the task."""
    channel_id = _channel_id(conn, task.id)
    event_log.append(conn, [events.task_event(kind, task, channel_id, by, **extra)])


def create(conn: sqlite3.Connection, new: NewTask) -> TaskCreated:
    """Insert a task with its event and offers, bump its active duplicate, or replay."""
    if new.idempotency_key is not None:
        earlier = by_key(conn, new.created_by, new.idempotency_key)
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
        found = conn.execute(
            "UPDATE tasks SET occurrences = occurrences + 1, last_seen_at = ?, updated_at = ? "
            "WHERE created_by = ? AND dedupe_key = ? AND status IN ('open', 'claimed') "
            "RETURNING id",
            (now, now, new.created_by, new.dedupe_key),
        ).fetchone()
        if found is not None:
            task = _must(conn, found[0])
            _record(conn, events.TASK_DEDUPED, task, new.creator_name)
            _remember(conn, new, task.id)
            return TaskCreated(task=task, deduped=True)
    channel_id = None if new.channel is None else channels.resolve(conn, new.channel)
    task_id = conn.execute(
        "INSERT INTO tasks (title, body, target, channel_id, priority, labels, created_by, "
        "lease_seconds, max_attempts, dedupe_key, last_seen_at, due_at, callback_url, "
        "callback_secret, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            new.title,
            new.body,
            new.target,
            channel_id,
            new.priority,
            orjson.dumps(new.labels).decode(),
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
    ).fetchone()[0]
    task = _must(conn, task_id)
    event_log.append(
        conn, [events.task_event(events.TASK_CREATED, task, channel_id, new.creator_name)]
    )
    content, metadata = offer(task)
    for message in new.offers:
        messages.post(conn, replace(message, content=content, metadata=metadata))
    _remember(conn, new, task.id)
    return TaskCreated(task=task)


def _remember(conn: sqlite3.Connection, new: NewTask, task_id: int) -> None:
    if new.idempotency_key is not None:
        conn.execute(
            "INSERT INTO task_keys (agent_id, key, task_id, fingerprint) VALUES (?, ?, ?, ?)",
            (new.created_by, new.idempotency_key, task_id, new.fingerprint),
        )


def search(conn: sqlite3.Connection, query: TaskQuery) -> list[Task]:
    clauses = ["t.id > :after"]
    params: dict[str, Any] = {"after": query.after, "limit": query.limit}
    if query.viewer_id is not None:
        clauses.append(
            "(t.channel_id IS NULL OR (c.kind = 'channel' AND c.visibility = 'public') OR "
            "EXISTS (SELECT 1 FROM members mb WHERE mb.channel_id = t.channel_id "
            "AND mb.agent_id = :viewer))"
        )
        params["viewer"] = query.viewer_id
    for column, value in (
        ("status", query.status),
        ("target", query.target),
        ("holder_id", query.holder_id),
        ("created_by", query.created_by),
    ):
        if value is not None:
            clauses.append(f"t.{column} = :{column}")
            params[column] = value
    if query.label is not None:
        clauses.append("EXISTS (SELECT 1 FROM json_each(t.labels) WHERE value = :label)")
        params["label"] = query.label
    if query.available_to is not None:
        clauses.append(f"t.status = 'open' AND t.created_by != :me AND t.target IN ({WANTED})")
        params["me"] = query.available_to
    sql = f"{_select(' AND '.join(clauses))} ORDER BY t.id LIMIT :limit"
    return rows.parse_all(TASKS, conn.execute(sql, params))


def claim(
    conn: sqlite3.Connection, task_id: int, agent_id: int, lease: float | None
) -> Task | None:
    """Claim one task if it is open and the agent may claim it (a lease run out first
    expires, as the sweep would)."""
    now = rows.now_us()
    expire(conn, now, only=task_id)
    params = {"id": task_id, "me": agent_id, "lease": lease, "now": now}
    found = conn.execute(
        f"UPDATE tasks SET {CLAIM_SET} WHERE id = :id AND status = 'open' AND {MAY_CLAIM} "
        "RETURNING id",
        params,
    ).fetchone()
    return None if found is None else _claimed(conn, found[0])


def claim_next(conn: sqlite3.Connection, agent_id: int, lease: float | None) -> Task | None:
    """Claim the best open task for the agent, in one statement."""
    now = rows.now_us()
    expire(conn, now)
    params = {"me": agent_id, "lease": lease, "now": now}
    found = conn.execute(
        f"UPDATE tasks SET {CLAIM_SET} WHERE id = ({BEST_FOR_ME}) AND status = 'open' RETURNING id",
        params,
    ).fetchone()
    return None if found is None else _claimed(conn, found[0])


def _claimed(conn: sqlite3.Connection, task_id: int) -> Task:
    task = _must(conn, task_id)
    _record(conn, events.TASK_CLAIMED, task, task.holder)
    return task


def change(conn: sqlite3.Connection, change: TaskChange) -> Task | None:
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
    found = conn.execute(
        f"UPDATE tasks SET {assignments}, updated_at = :now "
        f"WHERE {HELD} AND lease_expires_at > :now RETURNING id",
        params,
    ).fetchone()
    if found is None:
        return None
    task = _must(conn, found[0])
    by = conn.execute("SELECT name FROM agents WHERE id = ?", (change.agent_id,)).fetchone()[0]
    _record(conn, kind, task, by)
    return task


def cancel(
    conn: sqlite3.Connection, task_id: int, agent_id: int, reason: str | None
) -> Task | None:
    now = rows.now_us()
    found = conn.execute(
        "UPDATE tasks SET status = 'cancelled', lease_expires_at = NULL, "
        "result_text = coalesce(?, result_text), updated_at = ? "
        "WHERE id = ? AND status IN ('open', 'claimed') RETURNING id",
        (reason, now, task_id),
    ).fetchone()
    if found is None:
        return None
    task = _must(conn, task_id)
    by = conn.execute("SELECT name FROM agents WHERE id = ?", (agent_id,)).fetchone()[0]
    _record(conn, events.TASK_CANCELLED, task, by, reason=reason)
    return task


def expire(
    conn: sqlite3.Connection, now: int | None = None, *, only: int | None = None
) -> list[Task]:
    """Every claimed task whose lease has run out (or just ``only``) goes back to open with
    one more attempt, or fails once it has used up ``max_attempts``."""
    now = rows.now_us() if now is None else now
    sql = (
        "SELECT t.id, t.attempts + 1 >= t.max_attempts, a.name FROM tasks t "
        "LEFT JOIN agents a ON a.id = t.holder_id "
        "WHERE t.status = 'claimed' AND t.lease_expires_at <= ?"
    )
    params: tuple[int, ...] = (now,)
    if only is not None:
        sql += " AND t.id = ?"
        params = (now, only)
    expired = []
    for task_id, failing, holder in conn.execute(sql, params).fetchall():
        note = "the lease ran out on the last allowed attempt" if failing else None
        conn.execute(
            "UPDATE tasks SET status = CASE WHEN ? THEN 'failed' ELSE 'open' END, "
            "attempts = attempts + 1, holder_id = NULL, lease_expires_at = NULL, lease_lost = 1, "
            "result_text = coalesce(?, result_text), updated_at = ? WHERE id = ?",
            (failing, note, now, task_id),
        )
        task = _must(conn, task_id)
        _record(conn, events.TASK_EXPIRED, task, None, previous_holder=holder, reopened=not failing)
        expired.append(task)
    return expired


def next_expiry(conn: sqlite3.Connection) -> datetime | None:
    row = conn.execute(
        "SELECT min(lease_expires_at) FROM tasks WHERE status = 'claimed'"
    ).fetchone()
    return rows.maybe_time(row[0])


def history(conn: sqlite3.Connection, task_id: int, after: int, limit: int) -> list[StoredEvent]:
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
        for r in conn.execute(
            "SELECT * FROM events WHERE type GLOB 'task.*' "
            "AND json_extract(payload, '$.task.id') = ? AND seq > ? ORDER BY seq LIMIT ?",
            (task_id, after, limit),
        )
    ]
