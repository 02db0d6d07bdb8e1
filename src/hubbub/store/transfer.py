"""Direct access to a hub's database, outside any running hub: its schema (``hubbub
migrate``) and the raw rows of its tables (``hubbub export`` and ``hubbub import``).

Each engine implements :class:`Direct` in its own package (``store/sqlite/dump.py``,
``store/postgres/dump.py``); :mod:`hubbub.store.dumpfile` writes and reads the export file
over it. Nothing here is part of the core's ``Store``: a hub never uses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from hubbub.core.errors import Unavailable
from hubbub.store import is_postgres, sqlite_path
from hubbub.store.migrations import Migration

Engine = Literal["sqlite", "postgres"]
Row = Sequence[Any]

TABLES: tuple[str, ...] = (
    "keys",
    "agents",
    "users",
    "channels",
    "members",
    "messages",
    "inbox",
    "tasks",
    "task_keys",
    "integrations",
    "webhook_deliveries",
    "webhook_cursor",
    "events",
)
"""Every data table, each after the tables it refers to, so rows load in this order with
foreign keys checked as they go. The search index (SQLite's ``messages_fts``; PostgreSQL's is
an expression index) and the :data:`BOOKKEEPING` tables are not data: an import rebuilds the
one, and the others belong to the database they are in."""

BOOKKEEPING = frozenset({"schema_migrations", "writer_probe"})
"""Tables about the database itself (its migrations, its writer's last probe), never moved."""

SEEDED = frozenset({"webhook_cursor"})
"""Tables whose rows the schema itself inserts: an import replaces them rather than finding
the database not empty."""

BATCH = 2000
"""Rows read, or written, at a time."""


@dataclass(frozen=True, slots=True)
class Table:
    """A data table in a snapshot: its columns and how many rows it holds."""

    name: str
    columns: tuple[str, ...]
    rows: int


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database's schema stands against this build's migrations."""

    version: int
    """The highest migration applied (0: none, or no database yet)."""
    latest: int
    """This build's schema version."""
    pending: list[Migration]


class Snapshot(Protocol):
    """One consistent read of every data table (a single read transaction)."""

    schema: int
    tables: list[Table]

    def rows(self, table: Table) -> AsyncIterator[Sequence[Row]]:
        """The table's rows in batches, in primary-key order, columns as in ``table``."""
        ...

    async def counters(self) -> dict[str, int]:
        """The last id each table's id counter handed out, where the engine keeps one apart
        from the rows (SQLite's ``AUTOINCREMENT``, PostgreSQL's identity sequences)."""
        ...


class Loader(Protocol):
    """One write transaction into a database: committed only if every step succeeds."""

    async def occupied(self) -> dict[str, int]:
        """The data tables that hold rows (seeded ones aside), with their counts."""
        ...

    async def columns(self, table: str) -> tuple[str, ...]:
        """The table's columns in this database."""
        ...

    async def clear(self, table: str) -> None:
        """Delete a seeded table's rows, to be replaced."""
        ...

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        """Insert rows, ids as given."""
        ...

    async def finish(self, counters: dict[str, int]) -> dict[str, int]:
        """Move every id counter past both the largest id loaded and ``counters`` (the
        source's), rebuild the search index; return the next id each counter hands out."""
        ...


class Direct(Protocol):
    """One database, reached directly."""

    engine: Engine
    shown: str
    """The database as it may be printed (never a password)."""

    async def schema(self) -> SchemaState:
        """Where the schema stands; refuses one newer than this build, or a changed one."""
        ...

    async def migrate(self, on_apply: Callable[[Migration], None]) -> list[Migration]:
        """Apply the pending migrations, creating the database if it is a new SQLite file."""
        ...

    async def occupied(self) -> dict[str, int]:
        """The data tables that hold rows (seeded ones aside), with their counts; nothing
        for a database with no schema yet."""
        ...

    async def namespaces(self) -> tuple[list[str], list[tuple[str, str]]]:
        """Every machine a key was created for, and every agent of kind ``agent`` with the
        machine that registered it, for :func:`hubbub.core.machines.misplaced`; nothing for
        a database with no schema yet."""
        ...

    def snapshot(self) -> AbstractAsyncContextManager[Snapshot]:
        """A consistent read of a database at this build's schema (else
        ``schema_too_old``); a hub may be writing meanwhile."""
        ...

    def loader(self) -> AbstractAsyncContextManager[Loader]:
        """A write transaction, committed when the block ends without an error."""
        ...

    async def discard(self) -> None:
        """Undo the creation of the database, if this object created it (a new SQLite file
        an import failed to fill)."""
        ...


def open_direct(db: str) -> Direct:
    """Direct access to the database a ``db`` setting names (nothing is opened yet)."""
    if is_postgres(db):
        from hubbub.store.postgres.dump import PostgresDirect

        return PostgresDirect(db)
    from hubbub.store.sqlite.dump import SqliteDirect

    return SqliteDirect(sqlite_path(db))


def data_tables(found: set[str], engine: str) -> None:
    """Refuse a database whose data tables are not exactly :data:`TABLES`: a table left out
    of a move would be lost without a word."""
    unknown, missing = sorted(found - set(TABLES)), sorted(set(TABLES) - found)
    if unknown or missing:
        parts = [f"unknown tables {', '.join(unknown)}"] if unknown else []
        parts += [f"missing tables {', '.join(missing)}"] if missing else []
        raise Unavailable(
            f"the {engine} database's tables are not this hub's: {'; '.join(parts)}",
            code="schema_mismatch",
        )
