"""Agent queries."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from hubbub.core import events
from hubbub.core.errors import NotFound
from hubbub.core.models import Agent, AgentKind
from hubbub.core.store import AgentChanges, AgentQuery
from hubbub.store.sqlite import events as event_log
from hubbub.store.sqlite import rows


def by_name(conn: sqlite3.Connection, name: str) -> Agent | None:
    row = conn.execute("SELECT * FROM agents WHERE name = ?", (name,)).fetchone()
    return None if row is None else rows.agent(row)


def by_id(conn: sqlite3.Connection, agent_id: int) -> Agent:
    row = conn.execute("SELECT * FROM agents WHERE id = ?", (agent_id,)).fetchone()
    if row is None:
        raise NotFound(f"no agent with id {agent_id}", code="agent_not_found")
    return rows.agent(row)


def named(conn: sqlite3.Connection, names: Sequence[str]) -> list[Agent]:
    marks = ",".join("?" * len(names))
    return [
        rows.agent(r)
        for r in conn.execute(f"SELECT * FROM agents WHERE name IN ({marks})", tuple(names))
    ]


def ensure(conn: sqlite3.Connection, name: str, machine: str, kind: AgentKind) -> Agent:
    now = rows.now_us()
    conn.execute(
        "INSERT OR IGNORE INTO agents (name, machine, kind, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (name, machine, kind, now, now),
    )
    found = by_name(conn, name)
    assert found is not None
    return found


def update(conn: sqlite3.Connection, agent_id: int, changes: AgentChanges) -> Agent:
    current = conn.execute("SELECT * FROM agents WHERE id = ?", (agent_id,)).fetchone()
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
            wanted[column] = orjson.dumps(sorted(set(value))).decode()
    # Only real changes are written and announced: a repeated heartbeat is silent.
    fields = {column: value for column, value in wanted.items() if current[column] != value}
    if fields:
        assignments = ", ".join(f"{column} = ?" for column in fields)
        conn.execute(
            f"UPDATE agents SET {assignments}, updated_at = ? WHERE id = ?",
            (*fields.values(), rows.now_us(), agent_id),
        )
    agent = by_id(conn, agent_id)
    if fields:
        _announce(conn, agent, status_changed="status" in fields or "status_note" in fields)
    return agent


def _announce(conn: sqlite3.Connection, agent: Agent, *, status_changed: bool) -> None:
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
                channel_id, channel, agent.name, agent.status, agent.status_note
            )
            for channel_id, channel in conn.execute(
                "SELECT c.id, c.name FROM members m JOIN channels c ON c.id = m.channel_id "
                "WHERE m.agent_id = ?",
                (agent.id,),
            )
        ]
    event_log.append(conn, produced)


def touch(conn: sqlite3.Connection, agent_id: int) -> Agent:
    """Record activity now; an agent marked offline comes back as active."""
    now = rows.now_us()
    revived = conn.execute(
        "UPDATE agents SET last_seen_at = ?, status = 'active', updated_at = ? "
        "WHERE id = ? AND status = 'offline' RETURNING id",
        (now, now, agent_id),
    ).fetchone()
    if revived is None:
        conn.execute("UPDATE agents SET last_seen_at = ? WHERE id = ?", (now, agent_id))
    agent = by_id(conn, agent_id)
    if revived is not None:
        _announce(conn, agent, status_changed=True)
    return agent


def expire(conn: sqlite3.Connection, cutoff_us: int, spare: list[int]) -> list[Agent]:
    """Mark offline every agent not seen since ``cutoff_us``, except those in ``spare``."""
    now = rows.now_us()
    spared = set(spare)
    silent = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM agents WHERE status != 'offline' "
            "AND coalesce(last_seen_at, created_at) < ?",
            (cutoff_us,),
        )
        if r[0] not in spared
    ]
    conn.executemany(
        "UPDATE agents SET status = 'offline', updated_at = ? WHERE id = ?",
        [(now, agent_id) for agent_id in silent],
    )
    expired = [by_id(conn, agent_id) for agent_id in silent]
    for agent in expired:
        _announce(conn, agent, status_changed=True)
    return expired


def search(conn: sqlite3.Connection, query: AgentQuery) -> list[Agent]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.tag is not None:
        clauses.append("EXISTS (SELECT 1 FROM json_each(agents.tags) WHERE value = ?)")
        params.append(query.tag)
    if query.capability is not None:
        clauses.append("EXISTS (SELECT 1 FROM json_each(agents.capabilities) WHERE value = ?)")
        params.append(query.capability)
    for column in ("label", "status", "machine"):
        value = getattr(query, column)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if not query.include_unlisted:
        clauses.append("visibility = 'visible'")
    if query.routable_only:
        clauses.append("visibility != 'ghost'")
    if query.seen_since is not None:
        clauses.append("coalesce(last_seen_at, created_at) >= ?")
        params.append(rows.to_us(query.seen_since))
    where = " AND ".join(clauses) or "1"
    sql = f"SELECT * FROM agents WHERE {where} ORDER BY name"
    return [rows.agent(r) for r in conn.execute(sql, params)]
