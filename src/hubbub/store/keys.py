"""Key queries."""

from __future__ import annotations

from hubbub.core import machines
from hubbub.core.keys import check_revocable
from hubbub.core.models import KeyInfo, KeyKind
from hubbub.core.store import StoredKey
from hubbub.store import rows
from hubbub.store.sql import Query, Session
from hubbub.store.times import now_us

CREATE = Query(
    "INSERT INTO keys (kind, machine, label, prefix, digest, created_at) "
    "VALUES (:kind, :machine, :label, :prefix, :digest, :now) RETURNING *"
)
NAMESPACE = Query(
    "SELECT name, machine FROM agents WHERE kind = 'agent' AND substr(name, 1, :length) = :prefix"
)
MACHINE_NAMES = Query(
    lambda d: (
        "SELECT machine FROM keys WHERE kind = 'machine' AND machine IS NOT NULL "
        f"GROUP BY machine ORDER BY {d.by_name('machine')}"
    )
)
LIST = Query("SELECT * FROM keys ORDER BY id")
BY_ID = Query("SELECT * FROM keys WHERE id = :id")
REVOKE = Query("UPDATE keys SET revoked_at = :now WHERE id = :id RETURNING *")
BY_DIGEST = Query("SELECT * FROM keys WHERE digest = :digest")
COUNT = Query("SELECT count(*) FROM keys WHERE kind = :kind AND revoked_at IS NULL")
ADMIN_USERS = Query("SELECT count(*) FROM users WHERE admin_at IS NOT NULL AND disabled_at IS NULL")


async def create(
    conn: Session, kind: KeyKind, machine: str | None, label: str | None, prefix: str, digest: str
) -> KeyInfo:
    if kind == "machine" and machine is not None:
        # Checked in the write that creates the key (one writer at a time on either engine):
        # no agent can slip into the namespace between the check and the key.
        known = await machine_names(conn)
        if machine not in known:
            machines.check_new(machine, known, await _namespace(conn, machine))
    row = await conn.row(
        CREATE, kind=kind, machine=machine, label=label, prefix=prefix, digest=digest, now=now_us()
    )
    assert row is not None
    return rows.key(row)


async def _namespace(conn: Session, machine: str) -> list[tuple[str, str]]:
    """The agents of kind 'agent' named ``{machine}-…``, with the machine that registered
    each."""
    prefix = machine + "-"
    found = await conn.rows(NAMESPACE, length=len(prefix), prefix=prefix)
    return [(str(r["name"]), str(r["machine"])) for r in found]


async def machine_names(conn: Session) -> list[str]:
    """Every machine with a machine key, revoked or not, by code point."""
    return [str(r["machine"]) for r in await conn.rows(MACHINE_NAMES)]


async def list_all(conn: Session) -> list[KeyInfo]:
    return [rows.key(r) for r in await conn.rows(LIST)]


async def revoke(conn: Session, key_id: int) -> KeyInfo | None:
    row = await conn.row(BY_ID, id=key_id)
    if row is None:
        return None
    info = rows.key(row)
    if info.revoked_at is not None:
        return info
    if info.kind == "admin":
        # Counted in the write that revokes: of two revocations of the last two admin keys,
        # the second sees the first and is refused.
        check_revocable(info, await live_admins(conn))
    row = await conn.row(REVOKE, id=key_id, now=now_us())
    assert row is not None  # read in this transaction above
    return rows.key(row)


async def live_admins(conn: Session) -> int:
    """Every live admin credential: the admin keys not revoked and the enabled admin users.
    The one count the last-admin rule reads."""
    return await count(conn, "admin") + int(await conn.value(ADMIN_USERS))


async def by_digest(conn: Session, digest: str) -> StoredKey | None:
    row = await conn.row(BY_DIGEST, digest=digest)
    return None if row is None else StoredKey(rows.key(row), row["digest"])


async def count(conn: Session, kind: KeyKind) -> int:
    return int(await conn.value(COUNT, kind=kind))
