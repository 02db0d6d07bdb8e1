"""Key queries."""

from __future__ import annotations

import sqlite3

from hubbub.core.models import KeyInfo, KeyKind
from hubbub.core.store import StoredKey
from hubbub.store.sqlite import rows


def create(
    conn: sqlite3.Connection,
    kind: KeyKind,
    machine: str | None,
    label: str | None,
    prefix: str,
    digest: str,
) -> KeyInfo:
    row = conn.execute(
        "INSERT INTO keys (kind, machine, label, prefix, digest, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
        (kind, machine, label, prefix, digest, rows.now_us()),
    ).fetchone()
    return rows.key(row)


def list_all(conn: sqlite3.Connection) -> list[KeyInfo]:
    return [rows.key(r) for r in conn.execute("SELECT * FROM keys ORDER BY id")]


def revoke(conn: sqlite3.Connection, key_id: int) -> KeyInfo | None:
    conn.execute(
        "UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        (rows.now_us(), key_id),
    )
    row = conn.execute("SELECT * FROM keys WHERE id = ?", (key_id,)).fetchone()
    return None if row is None else rows.key(row)


def by_digest(conn: sqlite3.Connection, digest: str) -> StoredKey | None:
    row = conn.execute("SELECT * FROM keys WHERE digest = ?", (digest,)).fetchone()
    return None if row is None else StoredKey(rows.key(row), row["digest"])


def count(conn: sqlite3.Connection, kind: KeyKind) -> int:
    row = conn.execute(
        "SELECT count(*) FROM keys WHERE kind = ? AND revoked_at IS NULL", (kind,)
    ).fetchone()
    return int(row[0])
