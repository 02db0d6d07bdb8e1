"""Agent queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from hubbub.core import events
from hubbub.core.errors import Conflict, NotFound
from hubbub.core.models import Agent, AgentKind
from hubbub.core.store import AgentChanges, AgentQuery, AgentStateChange
from hubbub.store import channels, rows
from hubbub.store import events as event_log
from hubbub.store.sql import Query, Row, Session
from hubbub.store.times import now_us, to_us

BY_NAME = Query("SELECT * FROM agents WHERE name = :name")
BY_ID = Query("SELECT * FROM agents WHERE id = :id")
# Those a message may mention or an offer reach: neither deactivated nor deleted.
NAMED = Query(
    lambda d: (
        f"SELECT * FROM agents WHERE {d.any_of('name', 'names')} "
        "AND deactivated_at IS NULL AND deleted_at IS NULL"
    )
)
MACHINE_AGENTS = Query(
    "SELECT count(*) FROM agents WHERE machine = :machine AND kind = 'agent' AND deleted_at IS NULL"
)
AUTHORED = Query("SELECT id FROM messages WHERE author_id = :author ORDER BY id")
RENAME = Query("UPDATE agents SET name = :name, updated_at = :now WHERE id = :id RETURNING *")
SET_STATE = Query(
    "UPDATE agents SET deactivated_at = :deactivated, deleted_at = :deleted, updated_at = :now "
    "WHERE id = :id RETURNING *"
)
ENSURE = Query(
    "INSERT INTO agents (name, machine, kind, created_at, updated_at) "
    "VALUES (:name, :machine, :kind, :now, :now) ON CONFLICT (name) DO NOTHING RETURNING *"
)
# The whole profile is written back: the caller read it in this transaction.
UPDATE = Query(
    lambda d: (
        "UPDATE agents SET label = :label, status = :status, status_note = :status_note, "
        f"visibility = :visibility, runner = :runner, tags = {d.json_param('tags')}, "
        f"capabilities = {d.json_param('capabilities')}, updated_at = :now "
        "WHERE id = :id RETURNING *"
    )
)
CHANNELS = Query(
    "SELECT c.id, c.name FROM members m JOIN channels c ON c.id = m.channel_id "
    "WHERE m.agent_id = :agent ORDER BY c.id"
)
REVIVE = Query(
    "UPDATE agents SET last_seen_at = :now, status = 'active', updated_at = :now "
    "WHERE id = :id AND status = 'offline' RETURNING *"
)
SEEN = Query("UPDATE agents SET last_seen_at = :now WHERE id = :id RETURNING *")
EXPIRE = Query(
    lambda d: (
        "UPDATE agents SET status = 'offline', updated_at = :now WHERE status != 'offline' "
        f"AND coalesce(last_seen_at, created_at) < :cutoff AND NOT ({d.any_of('id', 'spare')}) "
        "RETURNING *"
    )
)
# Every filter (an AgentQuery field) is optional: a NULL parameter or false flag leaves it out.
SEARCH = Query(
    lambda d: (
        f"""SELECT * FROM agents
   WHERE (CAST(:tag AS TEXT) IS NULL OR {d.json_contains("tags", "tag")})
     AND (CAST(:capability AS TEXT) IS NULL OR {d.json_contains("capabilities", "capability")})
     AND (CAST(:label AS TEXT) IS NULL OR label = :label)
     AND (CAST(:status AS TEXT) IS NULL OR status = :status)
     AND (CAST(:machine AS TEXT) IS NULL OR machine = :machine)
     AND deleted_at IS NULL
     AND (:include_unlisted OR (visibility = 'visible' AND deactivated_at IS NULL))
     AND (NOT :routable_only OR (visibility != 'ghost' AND deactivated_at IS NULL))
     AND (CAST(:seen_since AS BIGINT) IS NULL OR coalesce(last_seen_at, created_at) >= :seen_since)
   ORDER BY {d.by_name("name")}"""
    )
)
PROFILE = ("label", "tags", "capabilities", "status", "status_note", "visibility", "runner")
LISTS = ("tags", "capabilities")
FLAGS = ("runner",)  # stored as 0 or 1; false is a value, not a cleared field


def _found(row: Row | None, agent_id: int) -> Agent:
    if row is None:
        raise NotFound(f"no agent with id {agent_id}", code="agent_not_found")
    return rows.agent(row)


async def by_name(conn: Session, name: str) -> Agent | None:
    row = await conn.row(BY_NAME, name=name)
    return None if row is None else rows.agent(row)


async def by_id(conn: Session, agent_id: int) -> Agent:
    return _found(await conn.row(BY_ID, id=agent_id), agent_id)


async def named(conn: Session, names: Sequence[str]) -> list[Agent]:
    return [rows.agent(r) for r in await conn.rows(NAMED, names=conn.dialect.array(names))]


async def ensure(conn: Session, name: str, machine: str, kind: AgentKind, cap: int = 0) -> Agent:
    """The agent ``name``, registered now if it is new; a machine already holding ``cap``
    agents (not deleted; 0: no cap) registers no more."""
    if cap:
        existing = await by_name(conn, name)
        if existing is not None:
            return existing
        held = await conn.value(MACHINE_AGENTS, machine=machine)
        if held >= cap:
            raise Conflict(
                f"machine {machine!r} already has {held} agents, the most one machine may "
                f"register (max_agents_per_machine): reuse one, or ask an admin to delete some",
                code="too_many_agents",
            )
    row = await conn.row(ENSURE, name=name, machine=machine, kind=kind, now=now_us())
    found = rows.agent(row) if row is not None else await by_name(conn, name)
    assert found is not None
    return found


async def update(conn: Session, agent_id: int, changes: AgentChanges) -> Agent:
    agent = await by_id(conn, agent_id)
    for target in changes.join:
        await channels.add_member(conn, await channels.resolve(conn, target), agent_id)
    given = {c: getattr(changes, c) for c in PROFILE if getattr(changes, c) is not None}
    wanted = {
        c: sorted(set(v)) if c in LISTS else v if c in FLAGS else v or None
        for c, v in given.items()
    }
    # Only real changes are written and announced: a repeated heartbeat is silent.
    fields = {column for column, value in wanted.items() if getattr(agent, column) != value}
    if not fields:
        return agent
    profile = {column: getattr(agent, column) for column in PROFILE} | wanted
    profile.update((column, rows.dumps(profile[column])) for column in LISTS)
    profile.update((column, int(profile[column])) for column in FLAGS)
    agent = _found(await conn.row(UPDATE, id=agent_id, now=now_us(), **profile), agent_id)
    await _announce(conn, agent, status_changed=bool(fields & {"status", "status_note"}))
    return agent


async def set_state(conn: Session, name: str, change: AgentStateChange) -> Agent:
    """Deactivate, reactivate or delete the agent ``name`` (a deleted one stays so), with an
    ``agent.updated`` event."""
    agent = await by_name(conn, name)
    if agent is None or agent.deleted:
        raise NotFound(f"no agent named {name!r}", code="agent_not_found")
    row = await conn.row(BY_NAME, name=name)
    assert row is not None
    now = now_us()
    deactivated, deleted = row["deactivated_at"], row["deleted_at"]
    if change == "deactivate":
        deactivated = deactivated or now
    elif change == "reactivate":
        deactivated = None
    else:
        deleted = now
    changed = _found(
        await conn.row(SET_STATE, id=agent.id, deactivated=deactivated, deleted=deleted, now=now),
        agent.id,
    )
    shown = {"deactivated": changed.deactivated, "deleted": changed.deleted}
    await event_log.append(conn, [events.agent_event(changed.name, shown)])
    return changed


async def authored(conn: Session, agent_id: int) -> list[int]:
    """The ids of every message the agent wrote (a read: a scan, off the writer)."""
    return [int(r["id"]) for r in await conn.rows(AUTHORED, author=agent_id)]


async def free_name(conn: Session, name: str) -> Agent:
    """Give the deleted agent ``name`` a name no agent can take (``~purged-{id}``), so its
    name may be registered again; ``agent.updated`` says so."""
    agent = await by_name(conn, name)
    if agent is None:
        raise NotFound(f"no agent named {name!r}", code="agent_not_found")
    if not agent.deleted:
        raise Conflict(
            f"agent {name!r} is not deleted: delete it first, then purge it",
            code="agent_not_deleted",
        )
    renamed = _found(
        await conn.row(RENAME, id=agent.id, name=f"~purged-{agent.id}", now=now_us()), agent.id
    )
    await event_log.append(conn, [events.agent_event(name, {"purged": True, "deleted": True})])
    return renamed


async def _announce(conn: Session, agent: Agent, *, status_changed: bool) -> None:
    """Events for a changed agent: ``agent.updated`` for all, and ``member.status`` in each of
    its channels when its status changed (never for a ghost)."""
    shown = agent.model_dump(mode="json", include=set(PROFILE))
    produced = [events.agent_event(agent.name, shown)]
    if status_changed and agent.visibility != "ghost":
        produced += [
            events.member_status_event(
                r["id"], r["name"], agent.name, agent.status, agent.status_note
            )
            for r in await conn.rows(CHANNELS, agent=agent.id)
        ]
    await event_log.append(conn, produced)


async def touch(conn: Session, agent_id: int) -> Agent:
    """Record activity now; an agent marked offline comes back as active."""
    now = now_us()
    revived = await conn.row(REVIVE, id=agent_id, now=now)
    if revived is None:
        return _found(await conn.row(SEEN, id=agent_id, now=now), agent_id)
    agent = rows.agent(revived)
    await _announce(conn, agent, status_changed=True)
    return agent


async def expire(conn: Session, cutoff_us: int, spare: list[int]) -> list[Agent]:
    """Mark offline every agent not seen since ``cutoff_us``, except those in ``spare``."""
    spared = conn.dialect.array(spare)
    silent = await conn.rows(EXPIRE, now=now_us(), cutoff=cutoff_us, spare=spared)
    expired = sorted((rows.agent(r) for r in silent), key=lambda a: a.id)
    for agent in expired:
        await _announce(conn, agent, status_changed=True)
    return expired


async def search(conn: Session, query: AgentQuery) -> list[Agent]:
    seen = None if query.seen_since is None else to_us(query.seen_since)
    return [rows.agent(r) for r in await conn.rows(SEARCH, **asdict(query) | {"seen_since": seen})]
