"""Key queries."""

from __future__ import annotations

import sqlite3

from hubbub.core import machines
from hubbub.core.keys import check_revocable
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
    if kind == "machine" and machine is not None:
        # Checked in the write that creates the key: no agent can slip into the namespace
        # between the check and the key.
        known = machine_names(conn)
        if machine not in known:
            machines.check_new(machine, known, _namespace(conn, machine))
    row = conn.execute(
        "INSERT INTO keys (kind, machine, label, prefix, digest, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
        (kind, machine, label, prefix, digest, rows.now_us()),
    ).fetchone()
    return rows.key(row)


def _namespace(conn: sqlite3.Connection, machine: str) -> list[tuple[str, str]]:
    """The agents of kind 'agent' named ``{machine}-…``, with the machine that registered
    each."""
    found = conn.execute(
        "SELECT name, machine FROM agents WHERE kind = 'agent' AND substr(name, 1, ?) = ?",
        (len(machine) + 1, machine + "-"),
    )
    return [(str(r[0]), str(r[1])) for r in found]


def machine_names(conn: sqlite3.Connection) -> list[str]:
    found = conn.execute(
        "SELECT DISTINCT machine FROM keys WHERE kind = 'machine' AND machine IS NOT NULL "
        "ORDER BY machine"
    )
    return [str(r[0]) for r in found]


def list_all(conn: sqlite3.Connection) -> list[KeyInfo]:
    return [rows.key(r) for r in conn.execute("SELECT * FROM keys ORDER BY id")]


def revoke(conn: sqlite3.Connection, key_id: int) -> KeyInfo | None:
    row = conn.execute("SELECT * FROM keys WHERE id = ?", (key_id,)).fetchone()
    if row is None:
        return None
    info = rows.key(row)
    if info.revoked_at is not None:
        return info
    if info.kind == "admin":
        # Counted in the write that revokes: of two revocations of the last two admin keys,
        # the second sees the first and is refused.
        check_revocable(info, live_admins(conn))
    row = conn.execute(
        "UPDATE keys SET revoked_at = ? WHERE id = ? RETURNING *", (rows.now_us(), key_id)
    ).fetchone()
    return rows.key(row)


def live_admins(conn: sqlite3.Connection) -> int:
    """Every live admin credential: the admin keys not revoked. The one count the last-admin
    rule reads; admin users join it here once users can be admins."""
    return count(conn, "admin")


def by_digest(conn: sqlite3.Connection, digest: str) -> StoredKey | None:
    row = conn.execute("SELECT * FROM keys WHERE digest = ?", (digest,)).fetchone()
    return None if row is None else StoredKey(rows.key(row), row["digest"])


def count(conn: sqlite3.Connection, kind: KeyKind) -> int:
    row = conn.execute(
        "SELECT count(*) FROM keys WHERE kind = ? AND revoked_at IS NULL", (kind,)
    ).fetchone()
    return int(row[0])
