"""Integration queries: scoped tokens, each acting as an agent of kind 'integration'; and the
task edits and dedupe lookups they make."""

from __future__ import annotations

import functools
from dataclasses import asdict

from hubbub.core import events
from hubbub.core.errors import Conflict
from hubbub.core.models import Integration, Task
from hubbub.core.store import IntegrationSpec, StoredIntegration, TaskEdit
from hubbub.store import tasks
from hubbub.store.rows import dumps, loads
from hubbub.store.sql import Query, Row, Session
from hubbub.store.times import maybe_time, now_us

# The pseudo-machine of integration agents; machine keys act only as agents of kind 'agent',
# so no machine key, whatever its name, can act as one.
INTEGRATION_MACHINE = "integration"

LIVE = Query("SELECT 1 FROM integrations WHERE name = :name AND revoked_at IS NULL")
AGENT = Query("SELECT id, kind FROM agents WHERE name = :name")
NEW_AGENT = Query(
    "INSERT INTO agents (name, machine, kind, created_at, updated_at) "
    "VALUES (:name, :machine, 'integration', :now, :now) RETURNING id"
)
# Every IntegrationSpec field is a column of the same name.
CREATE = Query(
    lambda d: (
        "INSERT INTO integrations (name, agent_id, scopes, targets, channels, rate_limit, "
        "rate_burst, webhook_url, webhook_secret, prefix, digest, created_at, allow_private) "
        f"VALUES (:name, :agent, {d.json_param('scopes')}, {d.json_param('targets')}, "
        f"{d.json_param('channels')}, :rate_limit, :rate_burst, :webhook_url, :webhook_secret, "
        ":prefix, :digest, :now, :allow_private) RETURNING *"
    )
)
LISTS = ("scopes", "targets", "channels")
ALL = Query("SELECT * FROM integrations ORDER BY id")
# The live one, else the newest revoked one.
BY_NAME = Query(
    "SELECT * FROM integrations WHERE name = :name "
    "ORDER BY revoked_at IS NULL DESC, id DESC LIMIT 1"
)
BY_DIGEST = Query("SELECT * FROM integrations WHERE digest = :digest")
REVOKE = Query(
    "UPDATE integrations SET revoked_at = :now WHERE name = :name AND revoked_at IS NULL "
    "RETURNING id"
)
DROP_DELIVERIES = Query(
    "UPDATE webhook_deliveries SET status = 'dead', last_error = 'the integration was revoked' "
    "WHERE integration_id = :id AND status = 'pending'"
)
# The active task with this dedupe key, else the newest finished one.
DEDUPE_TASK = Query(
    "SELECT id FROM tasks WHERE created_by = :creator AND dedupe_key = :key "
    "ORDER BY status IN ('open', 'claimed') DESC, id DESC LIMIT 1"
)
# The task fields an edit may change, each a TaskEdit field and a column of the same name.
EDITED = ("title", "body", "priority", "labels")
EDITABLE = Query(
    f"SELECT id, channel_id, {', '.join(EDITED)} FROM tasks "
    "WHERE id = :id AND created_by = :creator AND status IN ('open', 'claimed')"
)


@functools.cache
def _edit(columns: tuple[str, ...]) -> Query:
    """The update of just these task columns."""
    return Query(
        lambda d: (
            "UPDATE tasks SET "
            + ", ".join(f"{c} = {d.json_param(c) if c == 'labels' else ':' + c}" for c in columns)
            + ", updated_at = :now WHERE id = :id"
        )
    )


def integration(row: Row) -> Integration:
    """An integrations row as a model."""
    return Integration(
        **{c: row[c] for c in ("id", "name", "rate_limit", "rate_burst", "webhook_url", "prefix")},
        **{c: loads(row[c]) for c in LISTS},
        **{c: maybe_time(row[c]) for c in ("created_at", "revoked_at")},
        allow_private=bool(row["allow_private"]),
    )


async def create(conn: Session, spec: IntegrationSpec) -> Integration:
    """A new integration and, the first time its name is used, its agent."""
    live = await conn.row(LIVE, name=spec.name)
    agent = await conn.row(AGENT, name=spec.name)
    if live is not None or (agent is not None and agent["kind"] != "integration"):
        raise Conflict(f"the name {spec.name!r} is already taken", code="name_taken")
    now = now_us()
    if agent is None:
        agent_id = await conn.value(NEW_AGENT, name=spec.name, machine=INTEGRATION_MACHINE, now=now)
    else:
        agent_id = agent["id"]
    values = asdict(spec) | {c: dumps(getattr(spec, c)) for c in LISTS}
    values["allow_private"] = int(spec.allow_private)
    row = await conn.row(CREATE, **values, agent=agent_id, now=now)
    assert row is not None
    return integration(row)


async def list_all(conn: Session) -> list[Integration]:
    return [integration(r) for r in await conn.rows(ALL)]


async def by_name(conn: Session, name: str) -> Integration | None:
    row = await conn.row(BY_NAME, name=name)
    return None if row is None else integration(row)


async def by_digest(conn: Session, digest: str) -> StoredIntegration | None:
    row = await conn.row(BY_DIGEST, digest=digest)
    return None if row is None else StoredIntegration(integration(row), row["digest"])


async def revoke(conn: Session, name: str) -> Integration | None:
    """Revoke the live integration of that name; its pending deliveries are dropped."""
    revoked = await conn.value(REVOKE, now=now_us(), name=name)
    if revoked is not None:
        await conn.run(DROP_DELIVERIES, id=revoked)
    return await by_name(conn, name)


async def dedupe_task_id(conn: Session, creator_id: int, dedupe_key: str) -> int | None:
    found = await conn.value(DEDUPE_TASK, creator=creator_id, key=dedupe_key)
    return None if found is None else int(found)


async def edit_task(conn: Session, edit: TaskEdit) -> Task | None:
    """Change an active task's text, priority or labels; record ``task.updated`` with the
    names of the fields that changed (nothing, if none did)."""
    row = await conn.row(EDITABLE, id=edit.task_id, creator=edit.creator_id)
    if row is None:
        return None
    current = {c: loads(row[c]) if c == "labels" else row[c] for c in EDITED}
    wanted = {c: getattr(edit, c) for c in EDITED}
    changed = {c: v for c, v in wanted.items() if v is not None and current[c] != v}
    if not changed:
        return await tasks.by_id(conn, edit.task_id)
    values = {c: dumps(v) if c == "labels" else v for c, v in changed.items()}
    await conn.run(_edit(tuple(changed)), id=edit.task_id, now=now_us(), **values)
    return await tasks.record(
        conn, events.TASK_UPDATED, row, edit.creator_name, changes=list(changed)
    )
