"""Versioned schema migrations: numbered SQL files per engine, applied in order, once each.

The runner is written once, against a :class:`Migrator`; what differs between the engines is
each one's ``Migrating`` (in its ``engine`` module): how a step's script runs (SQLite splits
it into statements), its transaction (SQLite's ``BEGIN IMMEDIATE``), and how concurrent
processes take turns (PostgreSQL's advisory lock). The ``.sql`` files are never edited once
shipped: a database pins each applied one by its checksum.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

from hubbub.core.errors import Unavailable
from hubbub.store.dialect import Dialect
from hubbub.store.sql import Query, Session
from hubbub.store.times import now_us

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
PACKAGES = {"sqlite": "hubbub.store.sqlite", "postgresql": "hubbub.store.postgres"}  # by dialect

HAS_TABLE = Query(lambda d: f"SELECT {d.table_exists('name')}")
APPLIED = Query("SELECT version, checksum FROM schema_migrations")
CREATE = Query(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
    "name text NOT NULL, checksum text NOT NULL, applied_at bigint NOT NULL)"
)
RECORD = Query(
    "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
    "VALUES (:version, :name, :checksum, :now)"
)
PROBE = Query(
    "INSERT INTO writer_probe (id, probed_at) VALUES (1, :now) "
    "ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at"
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its version, name, SQL and a checksum that pins the applied text."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load(package: str) -> list[Migration]:
    """The migrations shipped in ``package``'s ``migrations`` folder, in version order."""
    found: list[Migration] = []
    for entry in resources.files(package).joinpath("migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations in {package} are not numbered 1..n: {versions}")
    return found


def shipped(dialect: Dialect) -> list[Migration]:
    """This build's migrations for ``dialect``'s engine."""
    return load(PACKAGES[dialect.name])


def pending(applied: dict[int, str], known: list[Migration]) -> list[Migration]:
    """The migrations still to apply to a database that has ``applied`` (version: checksum).
    Refuses a database newer than this build, or one whose applied migrations were changed."""
    if applied and max(applied) > len(known):
        raise Unavailable(
            f"the database is at schema {max(applied)}, newer than this hub ({len(known)})",
            code="schema_too_new",
        )
    for step in known:
        if step.version in applied and applied[step.version] != step.checksum:
            raise Unavailable(
                f"migration {step.version} ({step.name}) differs from the one applied",
                code="schema_mismatch",
            )
    return [step for step in known if step.version not in applied]


def require_current(applied: dict[int, str], known: list[Migration]) -> None:
    """Refuse a database whose schema is behind this build (``schema_too_old``), as well as
    those :func:`pending` refuses; for a hub told not to migrate."""
    if pending(applied, known):
        at = f"is at schema {max(applied)}" if applied else "has no schema yet"
        raise Unavailable(
            f"the database {at}, behind this hub ({len(known)}): run 'hubbub migrate' first",
            code="schema_too_old",
        )


async def applied(conn: Session) -> dict[int, str]:
    """The migrations applied to the database (version: checksum); none without a schema."""
    if not await conn.value(HAS_TABLE, name="schema_migrations"):
        return {}
    return {int(r["version"]): str(r["checksum"]) for r in await conn.rows(APPLIED)}


async def check(conn: Session) -> int:
    """The schema version, if the database is at this build's; else ``schema_too_old`` (or
    what :func:`pending` refuses). For a hub started without migrating, and an export."""
    known = shipped(conn.dialect)
    require_current(await applied(conn), known)
    return len(known)


async def probe(conn: Session) -> None:
    """A real write, so a commit proves the database takes writes (see ``writer_probe``)."""
    await conn.run(PROBE, now=now_us())


class Migrator(Protocol):
    """How one engine applies migrations, beyond its :class:`Session` (in autocommit)."""

    session: Session

    def turn(self) -> AbstractAsyncContextManager[object]:
        """Held while one process migrates, so concurrent processes apply each step once."""

    def transaction(self) -> AbstractAsyncContextManager[object]:
        """One transaction (a step's, an import's), committed if its block ends without error."""

    async def script(self, sql: str) -> None:
        """Run a migration file's statements, as written."""


async def migrate(engine: Migrator, on_apply: Callable[[Migration], None] | None = None) -> int:
    """Apply pending migrations, each in its own transaction (``on_apply`` hears of each once
    committed); return the schema version. Refuses a database that is newer than this build
    or whose applied migrations were changed."""
    conn = engine.session
    known = shipped(conn.dialect)
    async with engine.turn():
        if not await conn.value(HAS_TABLE, name="schema_migrations"):
            await conn.run(CREATE)
        for step in pending(await applied(conn), known):
            async with engine.transaction():
                await engine.script(step.sql)
                record = {"version": step.version, "name": step.name, "checksum": step.checksum}
                await conn.run(RECORD, now=now_us(), **record)
            if on_apply is not None:
                on_apply(step)
    return len(known)
