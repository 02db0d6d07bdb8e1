"""Integration queries: scoped tokens, each acting as an agent of kind 'integration'."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from hubbub.core import events
from hubbub.core.errors import Conflict
from hubbub.core.models import Integration, Task
from hubbub.core.store import IntegrationSpec, StoredIntegration, TaskEdit
from hubbub.store.sqlite import events as event_log
from hubbub.store.sqlite import rows, tasks

# The pseudo-machine of integration agents; machine keys act only as agents of kind 'agent',
# so no machine key, whatever its name, can act as one.
INTEGRATION_MACHINE = "integration"


def create(conn: sqlite3.Connection, spec: IntegrationSpec) -> Integration:
    live = conn.execute(
        "SELECT 1 FROM integrations WHERE name = ? AND revoked_at IS NULL", (spec.name,)
    ).fetchone()
    agent = conn.execute("SELECT id, kind FROM agents WHERE name = ?", (spec.name,)).fetchone()
    if live is not None or (agent is not None and agent["kind"] != "integration"):
        raise Conflict(f"the name {spec.name!r} is already taken", code="name_taken")
    now = rows.now_us()
    if agent is None:
        agent = conn.execute(
            "INSERT INTO agents (name, machine, kind, created_at, updated_at) "
            "VALUES (?, ?, 'integration', ?, ?) RETURNING id",
            (spec.name, INTEGRATION_MACHINE, now, now),
        ).fetchone()
    row = conn.execute(
        "INSERT INTO integrations (name, agent_id, scopes, targets, channels, rate_limit, "
        "rate_burst, webhook_url, webhook_secret, prefix, digest, created_at, allow_private) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (
            spec.name,
            agent["id"],
            orjson.dumps(spec.scopes).decode(),
            orjson.dumps(spec.targets).decode(),
            orjson.dumps(spec.channels).decode(),
            spec.rate_limit,
            spec.rate_burst,
            spec.webhook_url,
            spec.webhook_secret,
            spec.prefix,
            spec.digest,
            now,
            int(spec.allow_private),
        ),
    ).fetchone()
    return integration(row)


def list_all(conn: sqlite3.Connection) -> list[Integration]:
    return [integration(r) for r in conn.execute("SELECT * FROM integrations ORDER BY id")]


def by_name(conn: sqlite3.Connection, name: str) -> Integration | None:
    row = conn.execute(
        "SELECT * FROM integrations WHERE name = ? "
        "ORDER BY revoked_at IS NULL DESC, id DESC LIMIT 1",
        (name,),
    ).fetchone()
    return None if row is None else integration(row)


def by_digest(conn: sqlite3.Connection, digest: str) -> StoredIntegration | None:
    row = conn.execute("SELECT * FROM integrations WHERE digest = ?", (digest,)).fetchone()
    return None if row is None else StoredIntegration(integration(row), row["digest"])


def revoke(conn: sqlite3.Connection, name: str) -> Integration | None:
    now = rows.now_us()
    row = conn.execute(
        "UPDATE integrations SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL RETURNING id",
        (now, name),
    ).fetchone()
    if row is not None:
        conn.execute(
            "UPDATE webhook_deliveries SET status = 'dead', last_error = ? "
            "WHERE integration_id = ? AND status = 'pending'",
            ("the integration was revoked", row["id"]),
        )
    return by_name(conn, name)


def dedupe_task_id(conn: sqlite3.Connection, creator_id: int, dedupe_key: str) -> int | None:
    row = conn.execute(
        "SELECT id FROM tasks WHERE created_by = ? AND dedupe_key = ? "
        "ORDER BY status IN ('open', 'claimed') DESC, id DESC LIMIT 1",
        (creator_id, dedupe_key),
    ).fetchone()
    return None if row is None else int(row[0])


def edit_task(conn: sqlite3.Connection, edit: TaskEdit) -> Task | None:
    """Change an active task's text, priority or labels; record ``task.updated`` with the
    names of the fields that changed (nothing, if none did)."""
    row = conn.execute(
        "SELECT title, body, priority, labels, channel_id FROM tasks "
        "WHERE id = ? AND created_by = ? AND status IN ('open', 'claimed')",
        (edit.task_id, edit.creator_id),
    ).fetchone()
    if row is None:
        return None
    wanted: dict[str, Any] = {
        "title": edit.title,
        "body": edit.body,
        "priority": edit.priority,
        "labels": None if edit.labels is None else orjson.dumps(edit.labels).decode(),
    }
    changed = {k: v for k, v in wanted.items() if v is not None and row[k] != v}
    if changed:
        assignments = ", ".join(f"{column} = ?" for column in changed)
        conn.execute(
            f"UPDATE tasks SET {assignments}, updated_at = ? WHERE id = ?",
            (*changed.values(), rows.now_us(), edit.task_id),
        )
    task = tasks.by_id(conn, edit.task_id)
    assert task is not None
    if changed:
        event = events.task_event(
            events.TASK_UPDATED, task, row["channel_id"], edit.creator_name, changes=list(changed)
        )
        event_log.append(conn, [event])
    return task


def integration(row: sqlite3.Row) -> Integration:
    """An integrations row as a model."""
    return Integration(
        id=row["id"],
        name=row["name"],
        scopes=orjson.loads(row["scopes"]),
        targets=orjson.loads(row["targets"]),
        channels=orjson.loads(row["channels"]),
        rate_limit=row["rate_limit"],
        rate_burst=row["rate_burst"],
        webhook_url=row["webhook_url"],
        allow_private=bool(row["allow_private"]),
        prefix=row["prefix"],
        created_at=rows.to_time(row["created_at"]),
        revoked_at=rows.maybe_time(row["revoked_at"]),
    )
