"""Key queries."""

from __future__ import annotations

from hubbub.core.models import KeyInfo, KeyKind
from hubbub.core.store import StoredKey
from hubbub.store.postgres import rows
from hubbub.store.postgres.rows import Conn


async def create(
    conn: Conn, kind: KeyKind, machine: str | None, label: str | None, prefix: str, digest: str
) -> KeyInfo:
    row = await rows.one(
        conn,
        "INSERT INTO keys (kind, machine, label, prefix, digest, created_at) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
        (kind, machine, label, prefix, digest, rows.now_us()),
    )
    assert row is not None
    return rows.key(row)


async def list_all(conn: Conn) -> list[KeyInfo]:
    return [rows.key(r) for r in await rows.all_rows(conn, "SELECT * FROM keys ORDER BY id")]


async def revoke(conn: Conn, key_id: int) -> KeyInfo | None:
    await conn.execute(
        "UPDATE keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
        (rows.now_us(), key_id),
    )
    row = await rows.one(conn, "SELECT * FROM keys WHERE id = %s", (key_id,))
    return None if row is None else rows.key(row)


async def by_digest(conn: Conn, digest: str) -> StoredKey | None:
    row = await rows.one(conn, "SELECT * FROM keys WHERE digest = %s", (digest,))
    return None if row is None else StoredKey(rows.key(row), row["digest"])


async def count(conn: Conn, kind: KeyKind) -> int:
    return await rows.scalar(
        conn, "SELECT count(*) FROM keys WHERE kind = %s AND revoked_at IS NULL", (kind,)
    )
