"""User queries: human accounts, each one agent of kind 'human' plus a password hash."""

from __future__ import annotations

from hubbub.core.errors import Conflict, NotFound
from hubbub.core.keys import check_user_change
from hubbub.core.models import User
from hubbub.store import keys, rows, sessions
from hubbub.store.sql import Query, Row, Session
from hubbub.store.times import now_us, to_time

HUMAN_MACHINE = "human"
SELECT = rows.USER_SELECT
AGENT = Query(
    "INSERT INTO agents (name, machine, kind, created_at, updated_at) "
    "VALUES (:name, :machine, 'human', :now, :now) ON CONFLICT (name) DO NOTHING RETURNING id"
)
CREATE = Query(
    "INSERT INTO users (agent_id, password_hash, created_at, admin_at) "
    "VALUES (:agent, :hash, :now, :admin_at)"
)
LIST = Query(lambda d: f"{SELECT} ORDER BY {d.by_name('agents.name')}")
BY_NAME = Query(f"{SELECT} WHERE agents.name = :name")
ENABLED_HASH = Query(
    "SELECT users.password_hash FROM users JOIN agents ON agents.id = users.agent_id "
    "WHERE agents.name = :name AND users.disabled_at IS NULL"
)
# Each change returns the user, so a missing one is told in the same statement.
CHANGED = (
    "WHERE agent_id = (SELECT id FROM agents WHERE name = :name) "
    "RETURNING created_at, disabled_at, admin_at"
)
SET_PASSWORD = Query(f"UPDATE users SET password_hash = :hash {CHANGED}")
DISABLE = Query(f"UPDATE users SET disabled_at = coalesce(disabled_at, :now) {CHANGED}")
GRANT_ADMIN = Query(f"UPDATE users SET admin_at = coalesce(admin_at, :now) {CHANGED}")
REVOKE_ADMIN = Query(f"UPDATE users SET admin_at = NULL {CHANGED}")


async def create(conn: Session, name: str, password_hash: str, admin: bool = False) -> User:
    now = now_us()
    agent_id = await conn.value(AGENT, name=name, machine=HUMAN_MACHINE, now=now)
    if agent_id is None:
        raise Conflict(f"the name {name!r} is already taken", code="user_exists")
    await conn.run(
        CREATE, agent=agent_id, hash=password_hash, now=now, admin_at=now if admin else None
    )
    return User(name=name, created_at=to_time(now), disabled=False, admin=admin)


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
        name=name,
        created_at=to_time(row["created_at"]),
        disabled=row["disabled_at"] is not None,
        admin=row["admin_at"] is not None,
    )


async def _before_losing_admin(conn: Session, name: str) -> None:
    """Refuse, in the write itself, a change that would take away the last admin
    credential: an enabled admin user who is the only one left, with no admin key."""
    before = await by_name(conn, name)
    if before is not None:
        check_user_change(before, await keys.live_admins(conn))


# A password change, a disabling or a revoked admin flag ends the user's web sessions in the
# same write: no browser stays signed in on the old terms.


async def set_password(conn: Session, name: str, password_hash: str) -> User:
    changed = _changed(name, await conn.row(SET_PASSWORD, name=name, hash=password_hash))
    await sessions.end_for_user(conn, name)
    return changed


async def disable(conn: Session, name: str) -> User:
    await _before_losing_admin(conn, name)
    changed = _changed(name, await conn.row(DISABLE, name=name, now=now_us()))
    await sessions.end_for_user(conn, name)
    return changed


async def set_admin(conn: Session, name: str, admin: bool) -> User:
    """Make a user an admin, or take it back (ending its sessions)."""
    if admin:
        return _changed(name, await conn.row(GRANT_ADMIN, name=name, now=now_us()))
    await _before_losing_admin(conn, name)
    changed = _changed(name, await conn.row(REVOKE_ADMIN, name=name))
    await sessions.end_for_user(conn, name)
    return changed
