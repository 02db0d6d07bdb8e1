"""User queries: human accounts, each one agent of kind 'human' plus a password hash."""

from __future__ import annotations

import sqlite3

from hubbub.core.errors import Conflict, NotFound
from hubbub.core.models import User
from hubbub.store.sqlite import rows

HUMAN_MACHINE = "human"
SELECT = (
    "SELECT agents.name, users.created_at, users.disabled_at "
    "FROM users JOIN agents ON agents.id = users.agent_id"
)


def create(conn: sqlite3.Connection, name: str, password_hash: str) -> User:
    taken = conn.execute("SELECT 1 FROM agents WHERE name = ?", (name,)).fetchone()
    if taken is not None:
        raise Conflict(f"the name {name!r} is already taken", code="user_exists")
    now = rows.now_us()
    agent = conn.execute(
        "INSERT INTO agents (name, machine, kind, created_at, updated_at) "
        "VALUES (?, ?, 'human', ?, ?) RETURNING id",
        (name, HUMAN_MACHINE, now, now),
    ).fetchone()
    conn.execute(
        "INSERT INTO users (agent_id, password_hash, created_at) VALUES (?, ?, ?)",
        (agent["id"], password_hash, now),
    )
    found = by_name(conn, name)
    assert found is not None
    return found


def list_all(conn: sqlite3.Connection) -> list[User]:
    return [rows.user(r) for r in conn.execute(SELECT + " ORDER BY agents.name")]


def by_name(conn: sqlite3.Connection, name: str) -> User | None:
    row = conn.execute(SELECT + " WHERE agents.name = ?", (name,)).fetchone()
    return None if row is None else rows.user(row)


def enabled_hash(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute(
        "SELECT users.password_hash FROM users JOIN agents ON agents.id = users.agent_id "
        "WHERE agents.name = ? AND users.disabled_at IS NULL",
        (name,),
    ).fetchone()
    return None if row is None else str(row["password_hash"])


def _existing(conn: sqlite3.Connection, name: str) -> User:
    found = by_name(conn, name)
    if found is None:
        raise NotFound(f"no user named {name!r}", code="user_not_found")
    return found


def set_password(conn: sqlite3.Connection, name: str, password_hash: str) -> User:
    _existing(conn, name)
    conn.execute(
        "UPDATE users SET password_hash = ? "
        "WHERE agent_id = (SELECT id FROM agents WHERE name = ?)",
        (password_hash, name),
    )
    return _existing(conn, name)


def disable(conn: sqlite3.Connection, name: str) -> User:
    _existing(conn, name)
    conn.execute(
        "UPDATE users SET disabled_at = ? "
        "WHERE agent_id = (SELECT id FROM agents WHERE name = ?) AND disabled_at IS NULL",
        (rows.now_us(), name),
    )
    return _existing(conn, name)
