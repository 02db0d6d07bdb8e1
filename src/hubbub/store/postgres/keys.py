"""Key queries."""

from __future__ import annotations

from hubbub.core import machines
from hubbub.core.keys import check_revocable
from hubbub.core.models import KeyInfo, KeyKind
from hubbub.core.store import StoredKey
from hubbub.store.postgres import rows
from hubbub.store.postgres.rows import Conn


async def create(
    conn: Conn, kind: KeyKind, machine: str | None, label: str | None, prefix: str, digest: str
) -> KeyInfo:
    if kind == "machine" and machine is not None:
        # Checked in the write that creates the key, under the hubs' write lock: no agent can
        # slip into the namespace between the check and the key.
        known = await machine_names(conn)
        if machine not in known:
            machines.check_new(machine, known, await _namespace(conn, machine))
    row = await rows.one(
        conn,
        "INSERT INTO keys (kind, machine, label, prefix, digest, created_at) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
        (kind, machine, label, prefix, digest, rows.now_us()),
    )
    assert row is not None
    return rows.key(row)


async def _namespace(conn: Conn, machine: str) -> list[tuple[str, str]]:
    """The agents of kind 'agent' named ``{machine}-…``, with the machine that registered
    each."""
    found = await rows.all_rows(
        conn,
        "SELECT name, machine FROM agents WHERE kind = 'agent' AND left(name, %s::int) = %s",
        (len(machine) + 1, machine + "-"),
    )
    return [(str(r["name"]), str(r["machine"])) for r in found]


async def machine_names(conn: Conn) -> list[str]:
    found = await rows.all_rows(
        conn,
        "SELECT DISTINCT machine FROM keys WHERE kind = 'machine' AND machine IS NOT NULL "
        "ORDER BY machine",
    )
    return [str(r["machine"]) for r in found]


async def list_all(conn: Conn) -> list[KeyInfo]:
    return [rows.key(r) for r in await rows.all_rows(conn, "SELECT * FROM keys ORDER BY id")]


async def revoke(conn: Conn, key_id: int) -> KeyInfo | None:
    row = await rows.one(conn, "SELECT * FROM keys WHERE id = %s", (key_id,))
    if row is None:
        return None
    info = rows.key(row)
    if info.revoked_at is not None:
        return info
    if info.kind == "admin":
        # Counted in the write that revokes, under the hubs' write lock: of two revocations
        # of the last two admin keys, the second sees the first and is refused.
        check_revocable(info, await live_admins(conn))
    row = await rows.one(
        conn, "UPDATE keys SET revoked_at = %s WHERE id = %s RETURNING *", (rows.now_us(), key_id)
    )
    assert row is not None  # read in this transaction above
    return rows.key(row)


async def live_admins(conn: Conn) -> int:
    """Every live admin credential: the admin keys not revoked. The one count the last-admin
    rule reads; admin users join it here once users can be admins."""
    return await count(conn, "admin")


async def by_digest(conn: Conn, digest: str) -> StoredKey | None:
    row = await rows.one(conn, "SELECT * FROM keys WHERE digest = %s", (digest,))
    return None if row is None else StoredKey(rows.key(row), row["digest"])


async def count(conn: Conn, kind: KeyKind) -> int:
    return await rows.scalar(
        conn, "SELECT count(*) FROM keys WHERE kind = %s AND revoked_at IS NULL", (kind,)
    )
