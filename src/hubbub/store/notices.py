"""What each session acting as an agent has been told of its inbox: a cursor per (agent,
surface, session), moved forward only by the session that read the items it passes."""

from __future__ import annotations

from hubbub.core.store import SessionNews
from hubbub.store.inbox import PAGE
from hubbub.store.rows import INBOX_ITEMS
from hubbub.store.sql import Query, Session
from hubbub.store.times import now_us, to_time

STATE = Query(
    "SELECT shown_upto, used_at FROM notice_sessions "
    "WHERE agent_id = :agent AND surface = :surface AND session = :session"
)
# Moves the cursor from where the reader saw it (``:seen``; 0 with no row) to ``:upto``.
# Another caller of the same session that moved it first wins: this one changes nothing.
MOVE = Query(
    "INSERT INTO notice_sessions (agent_id, surface, session, shown_upto, used_at) "
    "VALUES (:agent, :surface, :session, :upto, :now) "
    "ON CONFLICT (agent_id, surface, session) DO UPDATE "
    "SET shown_upto = excluded.shown_upto, used_at = excluded.used_at "
    "WHERE notice_sessions.shown_upto = :seen RETURNING shown_upto"
)
USED = Query(
    "UPDATE notice_sessions SET used_at = :now "
    "WHERE agent_id = :agent AND surface = :surface AND session = :session"
)
FORGET = Query("DELETE FROM notice_sessions WHERE used_at < :before")


async def pending(
    conn: Session, agent_id: int, surface: str, session: str, limit: int
) -> SessionNews:
    """The session's cursor and up to ``limit`` readable, unacknowledged items after it."""
    state = await conn.row(STATE, agent=agent_id, surface=surface, session=session)
    seen = 0 if state is None else int(state["shown_upto"])
    used = None if state is None else to_time(int(state["used_at"]))
    items = await conn.models(INBOX_ITEMS, PAGE, agent=agent_id, after=seen, limit=limit)
    return SessionNews(seen=seen, used_at=used, items=items)


async def move(
    conn: Session, agent_id: int, surface: str, session: str, seen: int, upto: int
) -> bool:
    """Mark every item up to ``upto`` told to the session, if its cursor is still ``seen``."""
    moved = await conn.value(
        MOVE, agent=agent_id, surface=surface, session=session, seen=seen, upto=upto, now=now_us()
    )
    return moved is not None


async def used(conn: Session, agent_id: int, surface: str, session: str) -> None:
    """Note that the session is still in use (so it is not forgotten)."""
    await conn.run(USED, agent=agent_id, surface=surface, session=session, now=now_us())


async def forget(conn: Session, before_us: int) -> int:
    """Drop the sessions unused since ``before_us``; how many."""
    return await conn.run(FORGET, before=before_us)
