"""Dashboard sign-in queries: the hub secret, web sessions and one-time login links.

Tokens are kept only as their SHA-256 digests; a user's sessions end in the same write that
changes the user (see :mod:`hubbub.store.users`)."""

from __future__ import annotations

from datetime import datetime

from hubbub.core.errors import Conflict, NotFound
from hubbub.core.models import User
from hubbub.core.store import StoredSession
from hubbub.store import rows
from hubbub.store.sql import Query, Session
from hubbub.store.times import now_us, to_time, to_us

SECRET = Query("SELECT secret FROM hub_secret WHERE id = 1")
ADD_SECRET = Query(
    "INSERT INTO hub_secret (id, secret, created_at) VALUES (1, :secret, :now) "
    "ON CONFLICT (id) DO NOTHING"
)
ROTATE = Query("UPDATE hub_secret SET secret = :secret, created_at = :now WHERE id = 1")
END_ALL = Query("DELETE FROM web_sessions")
DROP_UNUSED_LINKS = Query("DELETE FROM login_links WHERE used_at IS NULL")

# The user a name stands for, enabled or not: which one it is decides the error.
USER_STATE = Query(
    "SELECT users.id, users.disabled_at FROM users JOIN agents ON agents.id = users.agent_id "
    "WHERE agents.name = :name"
)
ADD_LINK = Query(
    "INSERT INTO login_links (digest, user_id, created_at, expires_at) "
    "VALUES (:digest, :user, :now, :expires)"
)
USE_LINK = Query(
    "UPDATE login_links SET used_at = :now "
    "WHERE digest = :digest AND used_at IS NULL AND expires_at > :now RETURNING user_id"
)
ENABLED_BY_ID = Query(f"{rows.USER_SELECT} WHERE users.id = :id AND users.disabled_at IS NULL")
PRUNE_LINKS = Query("DELETE FROM login_links WHERE expires_at <= :now")
PRUNE_SESSIONS = Query("DELETE FROM web_sessions WHERE expires_at <= :now")

ADD_SESSION = Query(
    "INSERT INTO web_sessions (digest, user_id, csrf, created_at, expires_at, last_used_at) "
    "VALUES (:digest, :user, :csrf, :now, :expires, :now) RETURNING id"
)
BY_DIGEST = Query(
    "SELECT web_sessions.id AS session_id, web_sessions.csrf, "
    "web_sessions.created_at AS signed_in_at, web_sessions.expires_at, "
    "web_sessions.last_used_at, agents.name, users.created_at, users.disabled_at, "
    "users.admin_at "
    "FROM web_sessions JOIN users ON users.id = web_sessions.user_id "
    "JOIN agents ON agents.id = users.agent_id WHERE web_sessions.digest = :digest"
)
TOUCH = Query("UPDATE web_sessions SET last_used_at = :now WHERE id = :id")
END = Query("DELETE FROM web_sessions WHERE digest = :digest")
END_FOR_USER = Query(
    "DELETE FROM web_sessions WHERE user_id = "
    "(SELECT users.id FROM users JOIN agents ON agents.id = users.agent_id "
    "WHERE agents.name = :name)"
)


async def secret(conn: Session) -> str | None:
    found = await conn.value(SECRET)
    return None if found is None else str(found)


async def ensure_secret(conn: Session, candidate: str) -> str:
    """The hub secret, made from ``candidate`` if there is none yet (the first start; of two
    processes starting together, the first write wins and both read it)."""
    await conn.run(ADD_SECRET, secret=candidate, now=now_us())
    found = await conn.value(SECRET)
    assert found is not None  # inserted above, or already there
    return str(found)


async def rotate_secret(conn: Session, new: str) -> None:
    """Replace the hub secret; every session and unused link signed with the old one ends."""
    await conn.run(ADD_SECRET, secret=new, now=now_us())
    await conn.run(ROTATE, secret=new, now=now_us())
    await conn.run(END_ALL)
    await conn.run(DROP_UNUSED_LINKS)


async def _enabled_user_id(conn: Session, name: str) -> int:
    row = await conn.row(USER_STATE, name=name)
    if row is None:
        raise NotFound(f"no user named {name!r}", code="user_not_found")
    if row["disabled_at"] is not None:
        raise Conflict(f"user {name!r} is disabled", code="user_disabled")
    return int(row["id"])


async def create_link(conn: Session, name: str, digest: str, expires_at: datetime) -> None:
    """Record a login link for the enabled user ``name`` (and drop expired ones)."""
    user_id = await _enabled_user_id(conn, name)
    now = now_us()
    await conn.run(PRUNE_LINKS, now=now)
    await conn.run(ADD_LINK, digest=digest, user=user_id, now=now, expires=to_us(expires_at))


async def use_link(conn: Session, digest: str) -> User | None:
    """Spend a link: its enabled user, or ``None`` for an unknown, used or expired link (or a
    user disabled since). A link is spent even when its user turns out disabled."""
    user_id = await conn.value(USE_LINK, digest=digest, now=now_us())
    if user_id is None:
        return None
    row = await conn.row(ENABLED_BY_ID, id=user_id)
    return None if row is None else rows.user(row)


async def create_session(
    conn: Session, name: str, digest: str, csrf: str, expires_at: datetime
) -> int:
    """Open a session for the enabled user ``name`` (and drop expired ones); its id."""
    user_id = await _enabled_user_id(conn, name)
    now = now_us()
    await conn.run(PRUNE_SESSIONS, now=now)
    session_id = await conn.value(
        ADD_SESSION, digest=digest, user=user_id, csrf=csrf, now=now, expires=to_us(expires_at)
    )
    assert session_id is not None
    return int(session_id)


async def by_digest(conn: Session, digest: str) -> StoredSession | None:
    row = await conn.row(BY_DIGEST, digest=digest)
    if row is None:
        return None
    return StoredSession(
        id=int(row["session_id"]),
        user=rows.user(row),
        csrf=str(row["csrf"]),
        created_at=to_time(row["signed_in_at"]),
        expires_at=to_time(row["expires_at"]),
        last_used_at=to_time(row["last_used_at"]),
    )


async def touch(conn: Session, session_id: int) -> None:
    await conn.run(TOUCH, id=session_id, now=now_us())


async def end(conn: Session, digest: str) -> bool:
    """End one session; whether there was one."""
    return await conn.run(END, digest=digest) > 0


async def end_for_user(conn: Session, name: str) -> int:
    """End every session of the user ``name`` (inside the write that changes the user)."""
    return await conn.run(END_FOR_USER, name=name)
