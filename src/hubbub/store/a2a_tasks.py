"""A2A tasks: which message started each task a caller sent a hub agent over A2A, in which
thread and with which hub task. Everything else about a task is read from the hub itself."""

from __future__ import annotations

from dataclasses import asdict

from hubbub.core.store import A2APushConfig, A2ATaskQuery, A2ATaskRecord
from hubbub.store.sql import Query, Row, Session
from hubbub.store.times import now_us, to_time

COLUMNS = "id, caller_id, agent_id, channel_id, context_id, task_id, created_at"
BY_ID = Query(f"SELECT {COLUMNS} FROM a2a_tasks WHERE id = :id")
# Newest first, below a cursor; optionally in one context.
LISTING = Query(
    f"SELECT {COLUMNS} FROM a2a_tasks WHERE caller_id = :caller AND agent_id = :agent "
    "AND id < :before AND (CAST(:context AS BIGINT) IS NULL OR context_id = :context) "
    "ORDER BY id DESC LIMIT :limit"
)
COUNT = Query(
    "SELECT count(*) FROM a2a_tasks WHERE caller_id = :caller AND agent_id = :agent "
    "AND (CAST(:context AS BIGINT) IS NULL OR context_id = :context)"
)
NO_CURSOR = 2**62


async def record(conn: Session, record: A2ATaskRecord) -> A2ATaskRecord:
    """Keep ``record`` (a retried request finds its row already there, and keeps it)."""
    fields = asdict(record) | {"created_at": now_us()}
    await conn.insert("a2a_tasks", [fields], ignore_conflicts=True)
    found = await by_id(conn, record.id)
    assert found is not None
    return found


async def by_id(conn: Session, task_id: int) -> A2ATaskRecord | None:
    """The task of that id, if any."""
    row = await conn.row(BY_ID, id=task_id)
    return None if row is None else _record(row)


async def listing(conn: Session, query: A2ATaskQuery) -> tuple[list[A2ATaskRecord], int]:
    """A page of the caller's tasks with the agent, newest first, and how many there are."""
    params = {"caller": query.caller_id, "agent": query.agent_id, "context": query.context_id}
    before = NO_CURSOR if query.before is None else query.before
    rows = await conn.rows(LISTING, before=before, limit=query.limit, **params)
    total = int(await conn.value(COUNT, **params))
    return [_record(r) for r in rows], total


def _record(row: Row) -> A2ATaskRecord:
    return A2ATaskRecord(
        id=int(row["id"]),
        caller_id=int(row["caller_id"]),
        agent_id=int(row["agent_id"]),
        channel_id=int(row["channel_id"]),
        context_id=int(row["context_id"]),
        task_id=None if row["task_id"] is None else int(row["task_id"]),
        created_at=to_time(int(row["created_at"])),
    )


# push-notification configs

PUSH_COLUMNS = "id, task_id, name, url, token, created_at"
PUSH = Query(f"SELECT {PUSH_COLUMNS} FROM a2a_push_configs WHERE task_id = :task AND name = :name")
PUSHES = Query(f"SELECT {PUSH_COLUMNS} FROM a2a_push_configs WHERE task_id = :task ORDER BY id")
PUSH_SET = Query(
    "UPDATE a2a_push_configs SET url = :url, token = :token WHERE task_id = :task AND name = :name"
)
PUSH_DELETE = Query("DELETE FROM a2a_push_configs WHERE task_id = :task AND name = :name")
# A deleted config's deliveries still waiting go nowhere.
PUSH_DROPPED = Query(
    "UPDATE webhook_deliveries SET status = 'dead', last_error = 'the push config was deleted' "
    "WHERE destination = :destination AND status = 'pending'"
)


async def set_push(conn: Session, config: A2APushConfig) -> A2APushConfig:
    """Keep ``config``, replacing the task's config of the same name."""
    params = {"task": config.task_id, "name": config.name, "url": config.url}
    if not await conn.run(PUSH_SET, token=config.token, **params):
        row = {"task_id": config.task_id, "name": config.name, "url": config.url}
        await conn.insert(
            "a2a_push_configs", [row | {"token": config.token, "created_at": now_us()}]
        )
    found = await conn.row(PUSH, task=config.task_id, name=config.name)
    assert found is not None
    return _push(found)


async def pushes(conn: Session, task_id: int) -> list[A2APushConfig]:
    """The task's push configs, oldest first."""
    return [_push(r) for r in await conn.rows(PUSHES, task=task_id)]


async def delete_push(conn: Session, task_id: int, name: str) -> bool:
    """Delete the task's config of that name, and drop its deliveries still waiting."""
    found = await conn.row(PUSH, task=task_id, name=name)
    if found is None:
        return False
    await conn.run(PUSH_DELETE, task=task_id, name=name)
    await conn.run(PUSH_DROPPED, destination=f"a:{found['id']}")
    return True


def _push(row: Row) -> A2APushConfig:
    return A2APushConfig(
        id=int(row["id"]),
        task_id=int(row["task_id"]),
        name=row["name"],
        url=row["url"],
        token=row["token"],
        created_at=to_time(int(row["created_at"])),
    )
