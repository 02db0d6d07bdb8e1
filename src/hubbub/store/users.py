"""User queries: human accounts, each one agent of kind 'human' plus a password hash."""

from __future__ import annotations

from hubbub.core.errors import Conflict, NotFound
from hubbub.core.models import User
from hubbub.store import rows
from hubbub.store.sql import Query, Row, Session
from hubbub.store.times import now_us, to_time

HUMAN_MACHINE = "human"
SELECT = (
    "SELECT agents.name, users.created_at, users.disabled_at "
    "FROM users JOIN agents ON agents.id = users.agent_id"
)
AGENT = Query(
    "INSERT INTO agents (name, machine, kind, created_at, updated_at) "
    "VALUES (:name, :machine, 'human', :now, :now) ON CONFLICT (name) DO NOTHING RETURNING id"
)
CREATE = Query(
    "INSERT INTO users (agent_id, password_hash, created_at) VALUES (:agent, :hash, :now)"
)
LIST = Query(lambda d: f"{SELECT} ORDER BY {d.by_name('agents.name')}")
BY_NAME = Query(f"{SELECT} WHERE agents.name = :name")
ENABLED_HASH = Query(
    "SELECT users.password_hash FROM users JOIN agents ON agents.id = users.agent_id "
    "WHERE agents.name = :name AND users.disabled_at IS NULL"
)
# Each change returns the user, so a missing one is told in the same statement.
CHANGED = (
    "WHERE agent_id = (SELECT id FROM agents WHERE name = :name) RETURNING created_at, disabled_at"
)
SET_PASSWORD = Query(f"UPDATE users SET password_hash = :hash {CHANGED}")
DISABLE = Query(f"UPDATE users SET disabled_at = coalesce(disabled_at, :now) {CHANGED}")


async def create(conn: Session, name: str, password_hash: str) -> User:
    now = now_us()
    agent_id = await conn.value(AGENT, name=name, machine=HUMAN_MACHINE, now=now)
    if agent_id is None:
        raise Conflict(f"the name {name!r} is already taken", code="user_exists")
    await conn.run(CREATE, agent=agent_id, hash=password_hash, now=now)
    return User(name=name, created_at=to_time(now), disabled=False)


async def list_all(conn: Session) -> list[User]:
    return [rows.user(r) for r in await conn.rows(LIST)]


async def by_name(conn: Session, name: str) -> User | None:
    row = await conn.row(BY_NAME, name=name)
    return None if row is None else rows.user(row)


async def enabled_hash(conn: Session, name: str) -> str | None:
    found = await conn.value(ENABLED_HASH, name=name)
    return None if found is None else str(found)


def _changed(name: str, row: Row | None) -> User:
    if row is None:
        raise NotFound(f"no user named {name!r}", code="user_not_found")
    return User(
        name=name, created_at=to_time(row["created_at"]), disabled=row["disabled_at"] is not None
    )


async def set_password(conn: Session, name: str, password_hash: str) -> User:
    return _changed(name, await conn.row(SET_PASSWORD, name=name, hash=password_hash))


async def disable(conn: Session, name: str) -> User:
    return _changed(name, await conn.row(DISABLE, name=name, now=now_us()))
