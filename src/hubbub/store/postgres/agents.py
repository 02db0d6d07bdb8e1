"""Agent queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from hubbub.core import events
from hubbub.core.errors import NotFound
from hubbub.core.models import Agent, AgentKind
from hubbub.core.store import AgentChanges, AgentQuery
from hubbub.store.postgres import events as event_log
from hubbub.store.postgres import rows
from hubbub.store.postgres.rows import Conn


async def by_name(conn: Conn, name: str) -> Agent | None:
    row = await rows.one(conn, "SELECT * FROM agents WHERE name = %s", (name,))
    return None if row is None else rows.agent(row)


async def by_id(conn: Conn, agent_id: int) -> Agent:
    row = await rows.one(conn, "SELECT * FROM agents WHERE id = %s", (agent_id,))
    if row is None:
        raise NotFound(f"no agent with id {agent_id}", code="agent_not_found")
    return rows.agent(row)


async def named(conn: Conn, names: Sequence[str]) -> list[Agent]:
    found = await rows.all_rows(
        conn, "SELECT * FROM agents WHERE name = ANY(%s::text[])", (list(names),)
    )
    return [rows.agent(r) for r in found]


async def ensure(conn: Conn, name: str, machine: str, kind: AgentKind) -> Agent:
    now = rows.now_us()
    await conn.execute(
        "INSERT INTO agents (name, machine, kind, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO NOTHING",
        (name, machine, kind, now, now),
    )
    found = await by_name(conn, name)
    assert found is not None
    return found


async def update(conn: Conn, agent_id: int, changes: AgentChanges) -> Agent:
    current = await rows.one(conn, "SELECT * FROM agents WHERE id = %s", (agent_id,))
    if current is None:
        raise NotFound(f"no agent with id {agent_id}", code="agent_not_found")
    wanted: dict[str, Any] = {}
    for column in ("label", "status", "status_note", "visibility"):
        value = getattr(changes, column)
        if value is not None:
            wanted[column] = value or None
    for column in ("tags", "capabilities"):
        value = getattr(changes, column)
        if value is not None:
            wanted[column] = sorted(set(value))
    # Only real changes are written and announced: a repeated heartbeat is silent.
    fields = {column: value for column, value in wanted.items() if current[column] != value}
    if fields:
        assignments = ", ".join(f"{column} = %s" for column in fields)
        values = [Jsonb(v) if isinstance(v, list) else v for v in fields.values()]
        await conn.execute(
            f"UPDATE agents SET {assignments}, updated_at = %s WHERE id = %s",
            (*values, rows.now_us(), agent_id),
        )
    agent = await by_id(conn, agent_id)
    if fields:
        await _announce(conn, agent, status_changed="status" in fields or "status_note" in fields)
    return agent


async def _announce(conn: Conn, agent: Agent, *, status_changed: bool) -> None:
    """Events for a changed agent: ``agent.updated`` for all, and ``member.status`` in each of
    its channels when its status changed (never for a ghost)."""
    shown = agent.model_dump(
        mode="json",
        include={"label", "tags", "capabilities", "status", "status_note", "visibility"},
    )
    produced = [events.agent_event(agent.name, shown)]
    if status_changed and agent.visibility != "ghost":
        produced += [
            events.member_status_event(
                r["id"], r["name"], agent.name, agent.status, agent.status_note
            )
            for r in await rows.all_rows(
                conn,
                "SELECT c.id, c.name FROM members m JOIN channels c ON c.id = m.channel_id "
                "WHERE m.agent_id = %s ORDER BY c.id",
                (agent.id,),
            )
        ]
    await event_log.append(conn, produced)


async def touch(conn: Conn, agent_id: int) -> Agent:
    """Record activity now; an agent marked offline comes back as active."""
    now = rows.now_us()
    revived = await rows.one(
        conn,
        "UPDATE agents SET last_seen_at = %s, status = 'active', updated_at = %s "
        "WHERE id = %s AND status = 'offline' RETURNING id",
        (now, now, agent_id),
    )
    if revived is None:
        await conn.execute("UPDATE agents SET last_seen_at = %s WHERE id = %s", (now, agent_id))
    agent = await by_id(conn, agent_id)
    if revived is not None:
        await _announce(conn, agent, status_changed=True)
    return agent


async def expire(conn: Conn, cutoff_us: int, spare: list[int]) -> list[Agent]:
    """Mark offline every agent not seen since ``cutoff_us``, except those in ``spare``."""
    silent = await rows.all_rows(
        conn,
        "UPDATE agents SET status = 'offline', updated_at = %s WHERE status != 'offline' "
        "AND coalesce(last_seen_at, created_at) < %s AND NOT (id = ANY(%s::bigint[])) RETURNING id",
        (rows.now_us(), cutoff_us, spare),
    )
    expired = [await by_id(conn, agent_id) for agent_id in sorted(r["id"] for r in silent)]
    for agent in expired:
        await _announce(conn, agent, status_changed=True)
    return expired


async def search(conn: Conn, query: AgentQuery) -> list[Agent]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.tag is not None:
        clauses.append("tags @> %s")
        params.append(Jsonb([query.tag]))
    if query.capability is not None:
        clauses.append("capabilities @> %s")
        params.append(Jsonb([query.capability]))
    for column in ("label", "status", "machine"):
        value = getattr(query, column)
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if not query.include_unlisted:
        clauses.append("visibility = 'visible'")
    if query.routable_only:
        clauses.append("visibility != 'ghost'")
    if query.seen_since is not None:
        clauses.append("coalesce(last_seen_at, created_at) >= %s")
        params.append(rows.to_us(query.seen_since))
    where = " AND ".join(clauses) or "true"
    sql = f'SELECT * FROM agents WHERE {where} ORDER BY name COLLATE "C"'
    return [rows.agent(r) for r in await rows.all_rows(conn, sql, params)]
