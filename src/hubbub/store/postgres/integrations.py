"""Integration queries: scoped tokens, each acting as an agent of kind 'integration'."""

from __future__ import annotations

from typing import Any

from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from hubbub.core import events
from hubbub.core.errors import Conflict
from hubbub.core.models import Integration, Task
from hubbub.core.store import IntegrationSpec, StoredIntegration, TaskEdit
from hubbub.store.postgres import events as event_log
from hubbub.store.postgres import rows, tasks
from hubbub.store.postgres.rows import Conn

# The pseudo-machine of integration agents; machine keys act only as agents of kind 'agent',
# so no machine key, whatever its name, can act as one.
INTEGRATION_MACHINE = "integration"


async def create(conn: Conn, spec: IntegrationSpec) -> Integration:
    live = await rows.one(
        conn, "SELECT 1 AS x FROM integrations WHERE name = %s AND revoked_at IS NULL", (spec.name,)
    )
    agent = await rows.one(conn, "SELECT id, kind FROM agents WHERE name = %s", (spec.name,))
    if live is not None or (agent is not None and agent["kind"] != "integration"):
        raise Conflict(f"the name {spec.name!r} is already taken", code="name_taken")
    now = rows.now_us()
    if agent is None:
        agent = await rows.one(
            conn,
            "INSERT INTO agents (name, machine, kind, created_at, updated_at) "
            "VALUES (%s, %s, 'integration', %s, %s) RETURNING id",
            (spec.name, INTEGRATION_MACHINE, now, now),
        )
        assert agent is not None
    row = await rows.one(
        conn,
        "INSERT INTO integrations (name, agent_id, scopes, targets, channels, rate_limit, "
        "rate_burst, webhook_url, webhook_secret, prefix, digest, created_at, allow_private) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (
            spec.name,
            agent["id"],
            Jsonb(spec.scopes),
            Jsonb(spec.targets),
            Jsonb(spec.channels),
            spec.rate_limit,
            spec.rate_burst,
            spec.webhook_url,
            spec.webhook_secret,
            spec.prefix,
            spec.digest,
            now,
            int(spec.allow_private),
        ),
    )
    assert row is not None
    return integration(row)


async def list_all(conn: Conn) -> list[Integration]:
    return [
        integration(r) for r in await rows.all_rows(conn, "SELECT * FROM integrations ORDER BY id")
    ]


async def by_name(conn: Conn, name: str) -> Integration | None:
    row = await rows.one(
        conn,
        "SELECT * FROM integrations WHERE name = %s "
        "ORDER BY revoked_at IS NULL DESC, id DESC LIMIT 1",
        (name,),
    )
    return None if row is None else integration(row)


async def by_digest(conn: Conn, digest: str) -> StoredIntegration | None:
    row = await rows.one(conn, "SELECT * FROM integrations WHERE digest = %s", (digest,))
    return None if row is None else StoredIntegration(integration(row), row["digest"])


async def revoke(conn: Conn, name: str) -> Integration | None:
    now = rows.now_us()
    row = await rows.one(
        conn,
        "UPDATE integrations SET revoked_at = %s WHERE name = %s AND revoked_at IS NULL "
        "RETURNING id",
        (now, name),
    )
    if row is not None:
        await conn.execute(
            "UPDATE webhook_deliveries SET status = 'dead', last_error = %s "
            "WHERE integration_id = %s AND status = 'pending'",
            ("the integration was revoked", row["id"]),
        )
    return await by_name(conn, name)


async def dedupe_task_id(conn: Conn, creator_id: int, dedupe_key: str) -> int | None:
    row = await rows.one(
        conn,
        "SELECT id FROM tasks WHERE created_by = %s AND dedupe_key = %s "
        "ORDER BY status IN ('open', 'claimed') DESC, id DESC LIMIT 1",
        (creator_id, dedupe_key),
    )
    return None if row is None else int(row["id"])


async def edit_task(conn: Conn, edit: TaskEdit) -> Task | None:
    """Change an active task's text, priority or labels; record ``task.updated`` with the
    names of the fields that changed (nothing, if none did)."""
    row = await rows.one(
        conn,
        "SELECT title, body, priority, labels, channel_id FROM tasks "
        "WHERE id = %s AND created_by = %s AND status IN ('open', 'claimed')",
        (edit.task_id, edit.creator_id),
    )
    if row is None:
        return None
    wanted: dict[str, Any] = {
        "title": edit.title,
        "body": edit.body,
        "priority": edit.priority,
        "labels": edit.labels,
    }
    changed = {k: v for k, v in wanted.items() if v is not None and row[k] != v}
    if changed:
        assignments = ", ".join(f"{column} = %s" for column in changed)
        values = [Jsonb(v) if k == "labels" else v for k, v in changed.items()]
        await conn.execute(
            f"UPDATE tasks SET {assignments}, updated_at = %s WHERE id = %s",
            (*values, rows.now_us(), edit.task_id),
        )
    task = await tasks.by_id(conn, edit.task_id)
    assert task is not None
    if changed:
        event = events.task_event(
            events.TASK_UPDATED, task, row["channel_id"], edit.creator_name, changes=list(changed)
        )
        await event_log.append(conn, [event])
    return task


def integration(row: DictRow) -> Integration:
    """An integrations row as a model (its JSON lists arrive decoded)."""
    return Integration(
        id=row["id"],
        name=row["name"],
        scopes=row["scopes"],
        targets=row["targets"],
        channels=row["channels"],
        rate_limit=row["rate_limit"],
        rate_burst=row["rate_burst"],
        webhook_url=row["webhook_url"],
        allow_private=bool(row["allow_private"]),
        prefix=row["prefix"],
        created_at=rows.to_time(row["created_at"]),
        revoked_at=rows.maybe_time(row["revoked_at"]),
    )
