"""User queries: human accounts, each one agent of kind 'human' plus a password hash."""

from __future__ import annotations

from hubbub.core.errors import Conflict, NotFound
from hubbub.core.models import User
from hubbub.store.postgres import rows
from hubbub.store.postgres.rows import Conn

HUMAN_MACHINE = "human"
SELECT = (
    "SELECT agents.name, users.created_at, users.disabled_at "
    "FROM users JOIN agents ON agents.id = users.agent_id"
)


async def create(conn: Conn, name: str, password_hash: str) -> User:
    now = rows.now_us()
    agent = await rows.one(
        conn,
        "INSERT INTO agents (name, machine, kind, created_at, updated_at) "
        "VALUES (%s, %s, 'human', %s, %s) ON CONFLICT (name) DO NOTHING RETURNING id",
        (name, HUMAN_MACHINE, now, now),
    )
    if agent is None:
        raise Conflict(f"the name {name!r} is already taken", code="user_exists")
    await conn.execute(
        "INSERT INTO users (agent_id, password_hash, created_at) VALUES (%s, %s, %s)",
        (agent["id"], password_hash, now),
    )
    found = await by_name(conn, name)
    assert found is not None
    return found


async def list_all(conn: Conn) -> list[User]:
    return [rows.user(r) for r in await rows.all_rows(conn, SELECT + " ORDER BY agents.name")]


async def by_name(conn: Conn, name: str) -> User | None:
    row = await rows.one(conn, SELECT + " WHERE agents.name = %s", (name,))
    return None if row is None else rows.user(row)


async def enabled_hash(conn: Conn, name: str) -> str | None:
    row = await rows.one(
        conn,
        "SELECT users.password_hash FROM users JOIN agents ON agents.id = users.agent_id "
        "WHERE agents.name = %s AND users.disabled_at IS NULL",
        (name,),
    )
    return None if row is None else str(row["password_hash"])


async def _existing(conn: Conn, name: str) -> User:
    found = await by_name(conn, name)
    if found is None:
        raise NotFound(f"no user named {name!r}", code="user_not_found")
    return found


async def set_password(conn: Conn, name: str, password_hash: str) -> User:
    await _existing(conn, name)
    await conn.execute(
        "UPDATE users SET password_hash = %s "
        "WHERE agent_id = (SELECT id FROM agents WHERE name = %s)",
        (password_hash, name),
    )
    return await _existing(conn, name)


async def disable(conn: Conn, name: str) -> User:
    await _existing(conn, name)
    await conn.execute(
        "UPDATE users SET disabled_at = %s "
        "WHERE agent_id = (SELECT id FROM agents WHERE name = %s) AND disabled_at IS NULL",
        (rows.now_us(), name),
    )
    return await _existing(conn, name)
