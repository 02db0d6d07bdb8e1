"""Task queries and transactions. Every claim and every holder's change is one conditional
``UPDATE … RETURNING``: it applies only to a row still in the state it expects, so exactly
one claimer wins whatever the concurrency (each engine runs one writer at a time anyway: the
SQLite writer thread, the PostgreSQL write lock; no row locking is needed beyond that)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from hubbub.core import events
from hubbub.core.errors import Conflict
from hubbub.core.events import StoredEvent
from hubbub.core.models import Task, TaskCreated
from hubbub.core.offers import offer
from hubbub.core.store import NewTask, StoredTask, TaskChange, TaskQuery
from hubbub.store import channels, messages, rows
from hubbub.store import events as event_log
from hubbub.store.dialect import Dialect
from hubbub.store.sql import Query, Row, Session
from hubbub.store.times import maybe_time, now_us, to_us


def _task_json(d: Dialect) -> str:
    return d.json_object(
        "'id', t.id, 'title', t.title, 'body', t.body, 'target', t.target, 'channel', c.name",
        f"'priority', t.priority, 'labels', {d.json('t.labels')}, 'status', t.status",
        "'created_by', cr.name, 'holder', h.name, 'fence', t.fence",
        f"'lease_seconds', t.lease_seconds, 'lease_expires_at', {d.iso('t.lease_expires_at')}",
        "'attempts', t.attempts, 'max_attempts', t.max_attempts",
        "'progress', t.progress, 'progress_note', t.progress_note",
        f"'result', {d.json('t.result')}, 'result_text', t.result_text",
        "'dedupe_key', t.dedupe_key, 'occurrences', t.occurrences",
        f"'last_seen_at', {d.iso('t.last_seen_at')}, 'due_at', {d.iso('t.due_at')}",
        f"'created_at', {d.iso('t.created_at')}, 'updated_at', {d.iso('t.updated_at')}",
    )


TASK_FROM = """tasks t JOIN agents cr ON cr.id = t.created_by
    LEFT JOIN agents h ON h.id = t.holder_id LEFT JOIN channels c ON c.id = t.channel_id"""
TASKS: TypeAdapter[list[Task]] = TypeAdapter(list[Task])
STORED_TASKS: TypeAdapter[list[StoredTask]] = TypeAdapter(list[StoredTask])


def _answers_to(d: Dialect) -> str:
    """The targets an agent answers to by itself: its name, its capabilities, its tags."""
    return f"""
    SELECT '@' || a.name FROM agents a WHERE a.id = :me
    UNION ALL SELECT 'cap:' || j.value FROM agents a, {d.json_elements("a.capabilities", "j")}
               WHERE a.id = :me
    UNION ALL SELECT 'tag:' || j.value FROM agents a, {d.json_elements("a.tags", "j")}
               WHERE a.id = :me"""


def _wanted(d: Dialect) -> str:
    """Every target an agent answers to: itself, its capabilities and tags, its channels."""
    return f"""{_answers_to(d)}
    UNION ALL SELECT '#' || ch.name FROM members m JOIN channels ch ON ch.id = m.channel_id
               WHERE m.agent_id = :me AND ch.kind = 'channel'"""


# Claim-next: the best open task per wanted target (one seek each on tasks_claimable), then
# the best of those; each form continues ``WITH wanted(target) AS (…)``. Tasks the agent
# created are not for it. SQLite has no LATERAL; PostgreSQL needs it, as with a join on a
# correlated subquery a generic plan of the prepared statement may scan the whole table
# instead of seeking per target.
BEST_FOR_ME = {
    "sqlite": """,
    best(id, priority) AS (
        SELECT t.id, t.priority FROM wanted w JOIN tasks t ON t.id = (
            SELECT x.id FROM tasks x
             WHERE x.status = 'open' AND x.target = w.target AND x.created_by != :me
             ORDER BY x.priority DESC, x.id LIMIT 1))
    SELECT id FROM best ORDER BY priority DESC, id LIMIT 1""",
    "postgresql": """
    SELECT best.id FROM wanted w CROSS JOIN LATERAL (
        SELECT x.id, x.priority FROM tasks x
         WHERE x.status = 'open' AND x.target = w.target AND x.created_by != :me
         ORDER BY x.priority DESC, x.id LIMIT 1) best
    ORDER BY best.priority DESC, best.id LIMIT 1""",
}


def _lease(fallback: str) -> str:
    """The lease a claim asks for, else ``fallback`` (the task's, or the current claim's)."""
    return f"coalesce(CAST(:lease AS double precision), {fallback})"


def _expiry(seconds: str) -> str:
    """``seconds`` from now, as stored."""
    return f":now + CAST(round({seconds} * 1000000) AS bigint)"


# What a change returns: the task, its channel and the name of the agent making it.
CHANGED = "RETURNING id, channel_id, (SELECT name FROM agents WHERE id = :me) AS changed_by"
CLAIM_SET = f"""
    status = 'claimed', holder_id = :me, fence_holder_id = :me, fence = fence + 1,
    lease_lost = 0, claim_lease_seconds = {_lease("lease_seconds")},
    lease_expires_at = {_expiry(_lease("lease_seconds"))},
    progress = NULL, progress_note = NULL, updated_at = :now"""
# Claiming one task by id: the agent is its @agent, has its cap: or tag:, or may read its
# #channel (public, or a member).
CLAIM = Query(
    lambda d: (
        f"""UPDATE tasks SET {CLAIM_SET}
     WHERE id = :id AND status = 'open' AND (tasks.target IN ({_answers_to(d)})
        OR (substr(tasks.target, 1, 1) = '#' AND (
            EXISTS (SELECT 1 FROM channels ch WHERE ch.id = tasks.channel_id
                    AND ch.kind = 'channel' AND ch.visibility = 'public')
            OR EXISTS (SELECT 1 FROM members m WHERE m.channel_id = tasks.channel_id
                       AND m.agent_id = :me)))) {CHANGED}"""
    )
)
CLAIM_NEXT = Query(
    lambda d: (
        f"""UPDATE tasks SET {CLAIM_SET}
     WHERE id = (WITH wanted(target) AS ({_wanted(d)}) {BEST_FOR_ME[d.name]})
       AND status = 'open' {CHANGED}"""
    )
)


def _held(kind: str, sets: str) -> tuple[str, Query]:
    """A holder's change: its event, and its statement, applied only under its fence and a
    live lease. ``sets`` takes the JSON parameter ``:result`` as ``{result}``."""
    return kind, Query(
        lambda d: (
            f"UPDATE tasks SET {sets.format(result=d.json_param('result'))}, "
            "updated_at = :now WHERE id = :id AND status = 'claimed' AND fence = :fence "
            f"AND holder_id = :me AND lease_expires_at > :now {CHANGED}"
        )
    )


HELD_LEASE = _lease("claim_lease_seconds")
RESULT = "result = {result}, result_text = :text, lease_expires_at = NULL"
CHANGES = {
    "renew": _held(
        events.TASK_RENEWED,
        f"claim_lease_seconds = {HELD_LEASE}, lease_expires_at = {_expiry(HELD_LEASE)}",
    ),
    "progress": _held(
        events.TASK_PROGRESS,
        "progress = coalesce(CAST(:progress AS bigint), progress), progress_note = coalesce("
        f"CAST(:note AS text), progress_note), lease_expires_at = {_expiry('claim_lease_seconds')}",
    ),
    "complete": _held(events.TASK_COMPLETED, f"status = 'done', progress = 100, {RESULT}"),
    "fail": _held(events.TASK_FAILED, f"status = 'failed', {RESULT}"),
    "release": _held(
        events.TASK_RELEASED,
        "status = 'open', holder_id = NULL, fence_holder_id = NULL, lease_expires_at = NULL",
    ),
}
BY_ID = Query(lambda d: f"SELECT {_task_json(d)} FROM {TASK_FROM} WHERE t.id = :id")
STORED = Query(
    lambda d: (
        "SELECT "
        + d.json_object(
            f"'task', {_task_json(d)}, 'fence_holder', fh.name, 'lease_lost'",
            d.json_bool("t.lease_lost != 0"),
        )
        + f" FROM {TASK_FROM} LEFT JOIN agents fh ON fh.id = t.fence_holder_id WHERE t.id = :id"
    )
)
KEY = Query("SELECT task_id, fingerprint FROM task_keys WHERE agent_id = :agent AND key = :key")
REMEMBER = Query(
    "INSERT INTO task_keys (agent_id, key, task_id, fingerprint) "
    "VALUES (:agent, :key, :task, :fingerprint)"
)
DEDUPE = Query(
    "UPDATE tasks SET occurrences = occurrences + 1, last_seen_at = :now, updated_at = :now "
    "WHERE created_by = :creator AND dedupe_key = :key AND status IN ('open', 'claimed') "
    "RETURNING id, channel_id"
)
# The columns a new task takes from the NewTask fields of the same names.
COPIED = (
    "title, body, target, priority, created_by, lease_seconds, max_attempts, dedupe_key, "
    "callback_url, callback_secret"
)
INSERT = Query(
    lambda d: (
        f"INSERT INTO tasks ({COPIED}, channel_id, labels, due_at, last_seen_at, "
        f"created_at, updated_at) VALUES ({', '.join(':' + c for c in COPIED.split(', '))}, "
        f":channel, {d.json_param('labels')}, :due_at, :now, :now, :now) RETURNING id, channel_id"
    )
)
CANCEL = Query(
    "UPDATE tasks SET status = 'cancelled', lease_expires_at = NULL, "
    "result_text = coalesce(:reason, result_text), updated_at = :now "
    f"WHERE id = :id AND status IN ('open', 'claimed') {CHANGED}"
)
EXPIRED_SELECT = (
    "SELECT t.id, t.channel_id, t.attempts + 1 >= t.max_attempts AS failing, a.name AS holder "
    "FROM tasks t LEFT JOIN agents a ON a.id = t.holder_id "
    "WHERE t.status = 'claimed' AND t.lease_expires_at <= :now"
)
EXPIRED = Query(f"{EXPIRED_SELECT} ORDER BY t.id")
EXPIRED_ONE = Query(f"{EXPIRED_SELECT} AND t.id = :id")
EXPIRE = Query(
    "UPDATE tasks SET status = CASE WHEN :failing THEN 'failed' ELSE 'open' END, "
    "attempts = attempts + 1, holder_id = NULL, lease_expires_at = NULL, lease_lost = 1, "
    "result_text = coalesce(:note, result_text), updated_at = :now WHERE id = :id"
)
LAST_ATTEMPT = "the lease ran out on the last allowed attempt"
NEXT_EXPIRY = Query("SELECT min(lease_expires_at) FROM tasks WHERE status = 'claimed'")
# A task's events, through the events_by_task index: each engine's index expression and
# predicate, word for word, so the planner matches them.
TASK_EVENTS = {
    "sqlite": "type GLOB 'task.*' AND json_extract(payload, '$.task.id') = :task",
    "postgresql": "type LIKE 'task.%' AND ((payload -> 'task' ->> 'id')::bigint) = :task",
}
HISTORY = Query(
    lambda d: (
        "SELECT seq, type, channel_id, agent_id, payload, created_at FROM events "
        f"WHERE {TASK_EVENTS[d.name]} AND seq > :after ORDER BY seq LIMIT :limit"
    )
)
# The optional filters of a listing, by the TaskQuery field that sets each.
FILTERS: dict[str, Callable[[Dialect], str]] = {
    "viewer_id": lambda d: (
        "(t.channel_id IS NULL OR (c.kind = 'channel' AND c.visibility = 'public') OR "
        "EXISTS (SELECT 1 FROM members mb WHERE mb.channel_id = t.channel_id "
        "AND mb.agent_id = :viewer_id))"
    ),
    "status": lambda d: "t.status = :status",
    "target": lambda d: "t.target = :target",
    "holder_id": lambda d: "t.holder_id = :holder_id",
    "created_by": lambda d: "t.created_by = :created_by",
    "label": lambda d: d.json_contains("t.labels", "label"),
    "available_to": lambda d: (  # the agent, as :me
        f"t.status = 'open' AND t.created_by != :me AND {d.among('t.target', _wanted(d))}"
    ),
}


@functools.cache
def _search(filters: tuple[str, ...]) -> Query:
    """The listing with these filters (one statement, rendered once, per combination)."""

    def build(d: Dialect) -> str:
        where = " AND ".join(["t.id > :after", *(FILTERS[f](d) for f in filters)])
        return f"SELECT {_task_json(d)} FROM {TASK_FROM} WHERE {where} ORDER BY t.id LIMIT :limit"

    return Query(build)


async def by_id(conn: Session, task_id: int) -> Task | None:
    return next(iter(await conn.models(TASKS, BY_ID, id=task_id)), None)


async def stored(conn: Session, task_id: int) -> StoredTask | None:
    return next(iter(await conn.models(STORED_TASKS, STORED, id=task_id)), None)


async def _must(conn: Session, task_id: int) -> Task:
    task = await by_id(conn, task_id)
    assert task is not None, task_id
    return task


async def by_key(conn: Session, agent_id: int, key: str) -> tuple[Task, str] | None:
    row = await conn.row(KEY, agent=agent_id, key=key)
    return None if row is None else (await _must(conn, row["task_id"]), row["fingerprint"])


async def record(conn: Session, kind: str, row: Row, by: str | None, **extra: Any) -> Task:
    """The task a change returned (``row``: its ``id`` and ``channel_id``), with the change's
    event appended, scoped like the task."""
    task = await _must(conn, row["id"])
    await event_log.append(conn, [events.task_event(kind, task, row["channel_id"], by, **extra)])
    return task


async def create(conn: Session, new: NewTask) -> TaskCreated:
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
    now = now_us()
    bumped = None
    if new.dedupe_key is not None:
        bumped = await conn.row(DEDUPE, now=now, creator=new.created_by, key=new.dedupe_key)
    if bumped is not None:
        task = await record(conn, events.TASK_DEDUPED, bumped, new.creator_name)
    else:
        channel_id = None if new.channel is None else await channels.resolve(conn, new.channel)
        inserted = await conn.row(
            INSERT,
            **{c: getattr(new, c) for c in COPIED.split(", ")},
            channel=channel_id,
            labels=rows.dumps(new.labels),
            due_at=None if new.due_at is None else to_us(new.due_at),
            now=now,
        )
        assert inserted is not None
        task = await record(conn, events.TASK_CREATED, inserted, new.creator_name)
        content, metadata = offer(task)
        for message in new.offers:
            await messages.post(conn, replace(message, content=content, metadata=metadata))
    if new.idempotency_key is not None:
        key = {"agent": new.created_by, "key": new.idempotency_key, "fingerprint": new.fingerprint}
        await conn.run(REMEMBER, task=task.id, **key)
    return TaskCreated(task=task, deduped=bumped is not None)


async def search(conn: Session, query: TaskQuery) -> list[Task]:
    params = {f: getattr(query, f) for f in FILTERS if getattr(query, f) is not None}
    statement = _search(tuple(params))
    page = {"after": query.after, "limit": query.limit, "me": query.available_to}
    return await conn.models(TASKS, statement, **page, **params)


async def claim(
    conn: Session, task_id: int | None, agent_id: int, lease: float | None
) -> Task | None:
    """Claim one task if it is open and the agent may claim it, or without ``task_id`` the
    best open task for the agent, in one statement (a lease run out first expires, as the
    sweep would)."""
    now = now_us()
    await expire(conn, now, task_id)
    statement = CLAIM_NEXT if task_id is None else CLAIM
    found = await conn.row(statement, id=task_id, me=agent_id, lease=lease, now=now)
    if found is None:
        return None
    return await record(conn, events.TASK_CLAIMED, found, found["changed_by"])


async def claim_next(conn: Session, agent_id: int, lease: float | None) -> Task | None:
    return await claim(conn, None, agent_id, lease)


async def change(conn: Session, change: TaskChange) -> Task | None:
    """A holder's change, applied only under its fence and a live lease."""
    kind, statement = CHANGES[change.op]
    found = await conn.row(
        statement,
        id=change.task_id,
        me=change.agent_id,
        fence=change.fence,
        now=now_us(),
        lease=change.lease_seconds,
        progress=change.progress,
        note=change.note,
        result=None if change.result is None else rows.dumps(change.result),
        text=change.result_text,
    )
    return None if found is None else await record(conn, kind, found, found["changed_by"])


async def cancel(conn: Session, task_id: int, agent_id: int, reason: str | None) -> Task | None:
    found = await conn.row(CANCEL, reason=reason, now=now_us(), id=task_id, me=agent_id)
    if found is None:
        return None
    return await record(conn, events.TASK_CANCELLED, found, found["changed_by"], reason=reason)


async def expire(conn: Session, now: int | None = None, only: int | None = None) -> list[Task]:
    """The lease sweep: every claimed task whose lease has run out goes back to open with
    one more attempt, or fails once it has used up ``max_attempts``; in id order. As of
    ``now`` (by default, now), for every task or just ``only``."""
    now = now_us() if now is None else now
    found = await conn.rows(EXPIRED if only is None else EXPIRED_ONE, now=now, id=only)
    expired = []
    for row in found:
        failing = bool(row["failing"])
        note = LAST_ATTEMPT if failing else None
        await conn.run(EXPIRE, failing=failing, note=note, now=now, id=row["id"])
        extra = {"previous_holder": row["holder"], "reopened": not failing}
        expired.append(await record(conn, events.TASK_EXPIRED, row, None, **extra))
    return expired


async def next_expiry(conn: Session) -> datetime | None:
    return maybe_time(await conn.value(NEXT_EXPIRY))


async def history(conn: Session, task_id: int, after: int, limit: int) -> list[StoredEvent]:
    """The task's events after ``after``, through the ``events_by_task`` index."""
    found = await conn.rows(HISTORY, task=task_id, after=after, limit=limit)
    return [event_log.stored(r) for r in found]
