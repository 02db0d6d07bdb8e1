"""What a move carries: the data tables, in load order, and what is not data.

:class:`hubbub.store.dump.Direct` reaches a hub's database directly, outside any running hub
(``hubbub migrate``, ``export`` and ``import``); :mod:`hubbub.store.dumpfile` writes and
reads the export file over it. Nothing here is part of the core's ``Store``: a hub never
uses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from hubbub.store import is_postgres, sqlite_path
from hubbub.store.migrations import Migration

if TYPE_CHECKING:
    from hubbub.store.dump import Direct

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


def open_direct(db: str) -> Direct[Any]:
    """Direct access to the database a ``db`` setting names (nothing is opened yet)."""
    from hubbub.store.dump import PostgresDirect, SqliteDirect

    return PostgresDirect(db) if is_postgres(db) else SqliteDirect(sqlite_path(db))
