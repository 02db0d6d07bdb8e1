"""Direct access to a hub's database, outside any running hub, for ``hubbub migrate``,
``export`` and ``import``: what a move carries (the data tables, in load order) and
:class:`Direct`, over which :mod:`hubbub.store.dumpfile` writes and reads the export file.
Nothing here is part of the core's ``Store``: a hub never uses it. Where the engines differ,
each step does it both ways, side by side.

An export reads every table in one read transaction: a snapshot, while hubs go on writing.
On SQLite it is a WAL read transaction, from its first read; on PostgreSQL ``REPEATABLE READ
READ ONLY``, each table through a server-side cursor. An import writes in one transaction,
committed only if all of it succeeded. On SQLite that is ``BEGIN IMMEDIATE``, with the search
index's triggers dropped while the rows go in and the index rebuilt once at the end; on
PostgreSQL it holds the hubs' write lock and loads with ``COPY``, and the search index (an
expression index) keeps up as the rows arrive.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row, tuple_row
from psycopg.types.string import TextLoader

from hubbub.core.errors import InvalidInput, Unavailable
from hubbub.store import is_postgres, keys, migrations, sqlite_path
from hubbub.store.dialect import POSTGRES, SQLITE
from hubbub.store.migrations import Migration
from hubbub.store.postgres import engine as postgres
from hubbub.store.postgres.engine import PostgresSession
from hubbub.store.sql import Query
from hubbub.store.sqlite import engine as sqlite
from hubbub.store.sqlite.engine import SqliteSession

Row = Sequence[Any]
Conn = SqliteSession | PostgresSession  # a connection from :class:`Direct`, in autocommit

TABLES: tuple[str, ...] = (
    "keys",
    "agents",
    "users",
    "hub_secret",
    "web_sessions",
    "login_links",
    "channels",
    "members",
    "messages",
    "pairs",
    "inbox",
    "blobs",
    "blob_chunks",
    "files",
    "notice_sessions",
    "tasks",
    "task_keys",
    "integrations",
    "webhook_deliveries",
    "webhook_cursor",
    "a2a_remotes",
    "a2a_outbox",
    "a2a_contexts",
    "a2a_cursor",
    "events",
    "event_holes",
    "removed_keys",
    "a2a_tasks",
    "a2a_push_configs",
)
"""Every data table, each after the tables it refers to, so rows load in this order with
foreign keys checked as they go. The search index (SQLite's ``messages_fts``; PostgreSQL's is
an expression index) and the :data:`BOOKKEEPING` tables are not data: an import rebuilds the
one, and the others belong to the database they are in."""

BOOKKEEPING = frozenset({"schema_migrations", "writer_probe"})
"""Tables about the database itself (its migrations, its writer's last probe), never moved."""

SEEDED = frozenset({"webhook_cursor", "a2a_cursor"})
"""Tables whose rows the schema itself inserts: an import replaces them rather than finding
the database not empty."""

BATCH = 2000  # rows read, or written, at a time
BATCHES = {"blob_chunks": 8}
"""Tables whose rows are large (a file's chunks, 256 KiB each), read and written fewer at a
time, so a move holds a few megabytes of them at most."""


def batch_size(table: str) -> int:
    """How many rows of ``table`` a move reads, or writes, at a time."""
    return BATCHES.get(table, BATCH)


LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}  # each dialect's, as messages name it


@dataclass(frozen=True, slots=True)
class Table:
    """A data table in a snapshot: its columns and how many rows it holds."""

    name: str
    columns: tuple[str, ...]
    rows: int


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database's schema stands against this build's migrations."""

    version: int  # the highest migration applied (0: none, or no database yet)
    latest: int  # this build's schema version
    pending: list[Migration]


def _either(sqlite_sql: str, postgres_sql: str) -> Query:
    return Query(lambda d: sqlite_sql if d is SQLITE else postgres_sql)


AGENTS = Query("SELECT name, machine FROM agents WHERE kind = 'agent'")
# The tables; on SQLite neither its own, nor virtual tables and their shadow tables.
TABLE_NAMES = _either(
    "SELECT name FROM sqlite_master AS t WHERE type = 'table' "
    "AND substr(name, 1, 7) <> 'sqlite_' AND NOT EXISTS ("
    "SELECT 1 FROM sqlite_master AS v WHERE v.type = 'table' "
    "AND v.sql LIKE 'CREATE VIRTUAL%' "
    "AND (t.name = v.name OR substr(t.name, 1, length(v.name) + 1) = v.name || '_'))",
    "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')",
)
# Generated columns (PostgreSQL's stored search vector) are derived on load, never carried.
COLUMNS = _either(
    "SELECT name FROM pragma_table_info(:table) ORDER BY cid",
    "SELECT attname AS name FROM pg_attribute WHERE attrelid = CAST(:table AS regclass) "
    "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
)
KEY = _either(
    "SELECT name FROM pragma_table_info(:table) WHERE pk > 0 ORDER BY pk",
    "SELECT a.attname AS name FROM pg_index i "
    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
    "WHERE i.indrelid = CAST(:table AS regclass) AND i.indisprimary "
    "ORDER BY array_position(CAST(i.indkey AS smallint[]), a.attnum)",
)
SEQUENCE = "CAST(pg_get_serial_sequence(:table, :column) AS regclass)"
# The last id the counter of ``:table`` (numbering ``:column``) handed out, if any.
COUNTER = _either(
    "SELECT seq FROM sqlite_sequence WHERE name = :table",
    f"SELECT pg_sequence_last_value({SEQUENCE})",
)
# setval(seq, 1, false) hands out 1 next; setval(seq, n, true) hands out n + 1.
ADVANCE = Query(f"SELECT setval({SEQUENCE}, :value, :called)")
AUTOINCREMENT = Query(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :table "
    "AND sql LIKE '%AUTOINCREMENT%'"
)
MOVE = Query("UPDATE sqlite_sequence SET seq = max(seq, :seq) WHERE name = :table")
START = Query("INSERT INTO sqlite_sequence (name, seq) VALUES (:table, :seq)")
FTS = "messages_fts"
TRIGGERS = Query(
    f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%{FTS}%'"
)


class Direct:
    """A SQLite or PostgreSQL database, reached directly; nothing is opened until needed."""

    def __init__(self, db: str) -> None:
        self.postgres = is_postgres(db)
        # The engine as an export's header names it, and the SQL it speaks.
        self.engine, self.dialect = ("postgres", POSTGRES) if self.postgres else ("sqlite", SQLITE)
        if self.postgres:
            parts = {"connect_timeout": "10", "application_name": "hubbub", **conninfo_to_dict(db)}
            self.conninfo = make_conninfo("", **parts)
            self.shown = postgres.describe(db)  # the database as it may be printed
        else:
            self.path = sqlite_path(db)
            self.shown, self._existed = str(self.path), self.path.exists()

    def exists(self) -> bool:
        """Whether there may be a database to read (a SQLite file may not exist yet)."""
        return self.postgres or self.path.exists()

    async def schema(self) -> SchemaState:
        """Where the schema stands; refuses one newer than this build, or a changed one."""
        known = migrations.shipped(self.dialect)
        applied: dict[int, str] = {}
        if self.exists():
            async with self.connect() as conn:
                applied = await migrations.applied(conn)
        return SchemaState(max(applied, default=0), len(known), migrations.pending(applied, known))

    async def migrate(self, on_apply: Callable[[Migration], None]) -> list[Migration]:
        """Apply the pending migrations, creating the database if it is a new SQLite file."""
        done: list[Migration] = []

        def applied(step: Migration) -> None:
            done.append(step)
            on_apply(step)

        async with self.connect(write=True) as conn:
            await migrations.migrate(_migrator(conn), applied)
        return done

    async def namespaces(self) -> tuple[list[str], list[tuple[str, str]]]:
        """Every machine a key was created for, and every agent of kind ``agent`` with the
        machine that registered it, for :func:`hubbub.core.machines.misplaced`; nothing for
        a database with no schema yet."""
        if not self.exists():
            return [], []
        async with self.connect() as conn:
            if not {"keys", "agents"} <= await tables(conn):
                return [], []
            agents = [(str(r["name"]), str(r["machine"])) for r in await conn.rows(AGENTS)]
            return await keys.machine_names(conn), agents

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[tuple[Conn, int, list[Table]]]:
        """A read transaction that sees one state of a database at this build's schema (else
        ``schema_too_old``) while hubs write: its connection, the schema and the data tables."""
        async with self.connect() as conn, _reading(conn):
            schema = await migrations.check(conn)
            # A table left out of a move would be lost without a word.
            found = await tables(conn)
            unknown, missing = sorted(found - set(TABLES)), sorted(set(TABLES) - found)
            if unknown or missing:
                parts = [f"unknown tables {', '.join(unknown)}"] if unknown else []
                parts += [f"missing tables {', '.join(missing)}"] if missing else []
                raise Unavailable(
                    f"the {LABELS[conn.dialect.name]} database's tables are not this hub's: "
                    f"{'; '.join(parts)}",
                    code="schema_mismatch",
                )
            found_tables = [Table(t, await columns(conn, t), await _count(conn, t)) for t in TABLES]
            yield conn, schema, found_tables

    async def discard(self) -> None:
        """Remove the new SQLite file this object created, if an import failed to fill it."""
        if self.postgres or self._existed:
            return
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")

    def connect(self, *, write: bool = False) -> contextlib.AbstractAsyncContextManager[Conn]:
        """A session in autocommit; ``write`` to change the database (a new SQLite file is
        created). The engine's errors come out as :class:`Unavailable`."""
        return self._postgres() if self.postgres else self._sqlite(write)

    @contextlib.asynccontextmanager
    async def _sqlite(self, write: bool) -> AsyncIterator[SqliteSession]:
        path = self.path
        if not write and not path.is_file():
            raise Unavailable(f"there is no database at {path}", code="bad_db")
        try:
            if write:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not path.exists():  # the database holds secrets' hashes: owner only
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            # A reader is query-only rather than read-only: a read-only connection could not
            # remove the WAL files it makes when it is the last to close.
            conn = sqlite.connect(path, readonly=not write)
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                if write:
                    conn.execute("PRAGMA journal_mode = WAL")
            except BaseException:
                conn.close()
                raise
        except (OSError, sqlite3.DatabaseError) as error:
            raise Unavailable(
                f"cannot use {path} as the database: {error}", code="bad_db"
            ) from None
        try:
            with contextlib.closing(conn):
                yield SqliteSession(conn)
        except sqlite3.Error as error:  # locked, disk full, damaged…
            doing = "write" if write else "read"
            raise Unavailable(f"cannot {doing} {path}: {error}", code="bad_db") from None

    @contextlib.asynccontextmanager
    async def _postgres(self) -> AsyncIterator[PostgresSession]:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, row_factory=dict_row
            )
        except psycopg.OperationalError as error:
            raise Unavailable(
                f"cannot use {self.shown} as the database: {_reason(error)}", code="bad_db"
            ) from None
        # JSON columns travel as the text they hold, unparsed.
        conn.adapters.register_loader("json", TextLoader)
        conn.adapters.register_loader("jsonb", TextLoader)
        try:
            async with conn:
                yield PostgresSession(conn)
        except psycopg.OperationalError as error:
            raise postgres.unavailable(error, self.conninfo) from None
        except psycopg.Error as error:  # refused: privileges, a broken schema…
            raise Unavailable(f"cannot use {self.shown}: {_reason(error)}", code="bad_db") from None


open_direct = Direct
"""Direct access to the database a ``db`` setting names (nothing is opened yet)."""


def _migrator(conn: Conn) -> migrations.Migrator:
    if isinstance(conn, SqliteSession):
        return sqlite.Migrating(conn.conn)
    return postgres.Migrating(conn.conn)


@contextlib.asynccontextmanager
async def _reading(conn: Conn) -> AsyncIterator[None]:
    if isinstance(conn, SqliteSession):
        conn.conn.execute("BEGIN")  # the first read takes the snapshot the rest sees
        try:
            yield
        finally:
            conn.conn.execute("ROLLBACK")
    else:
        async with conn.conn.transaction():
            await conn.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield


@contextlib.asynccontextmanager
async def loading(conn: Conn) -> AsyncIterator[None]:
    """An import's write transaction, committed if its block ends without an error."""
    # SQLite's BEGIN IMMEDIATE waits for a writer (busy_timeout), then fails.
    async with _migrator(conn).transaction():
        if isinstance(conn, SqliteSession):
            # Indexing row by row as they arrive costs more than one rebuild at the end.
            triggers = await conn.rows(TRIGGERS)
            for trigger in triggers:
                conn.conn.execute(f"DROP TRIGGER {_name(trigger['name'])}")
            yield
            conn.conn.execute(f"INSERT INTO {FTS} ({FTS}) VALUES ('rebuild')")
            for trigger in triggers:
                conn.conn.execute(trigger["sql"])
        else:
            await conn.conn.execute("SET LOCAL statement_timeout = 0")
            # No hub process writes while the rows go in (nor draws an id from a sequence
            # that is about to move).
            await conn.conn.execute("SELECT pg_advisory_xact_lock(%s)", (postgres.LOCK_KEY,))
            yield
    if isinstance(conn, PostgresSession):
        await conn.conn.execute("ANALYZE")  # the planner's statistics, for the tables filled


# The catalog, and the moves, over a connection from :class:`Direct`.


async def tables(conn: Conn) -> set[str]:
    """The data tables, and any other table of the hub's bookkeeping aside."""
    return {str(r["name"]) for r in await conn.rows(TABLE_NAMES)} - BOOKKEEPING


async def columns(conn: Conn, table: str, *, key: bool = False) -> tuple[str, ...]:
    """The table's columns in order, or (``key``) its primary key's."""
    return tuple(str(r["name"]) for r in await conn.rows(KEY if key else COLUMNS, table=table))


async def _counted(conn: Conn) -> list[tuple[str, str]]:
    """The data tables with an id counter (a one-column primary key, not seeded), by column."""
    keyed = [(t, await columns(conn, t, key=True)) for t in TABLES if t not in SEEDED]
    return [(table, key[0]) for table, key in keyed if len(key) == 1]


async def filled(conn: Conn) -> dict[str, int]:
    """The data tables, seeded ones aside, that hold rows, counted up to 1001 (no need for all)."""
    present = await tables(conn)
    counts = {t: await _count(conn, t, 1001) for t in TABLES if t in present and t not in SEEDED}
    return {table: count for table, count in counts.items() if count}


async def rows(conn: Conn, table: Table) -> AsyncIterator[Sequence[Row]]:
    """The table's rows as tuples, in primary-key order, in batches of :data:`BATCH`."""
    key = await columns(conn, table.name, key=True) or table.columns
    query = f"SELECT {_names(table.columns)} FROM {_name(table.name)} ORDER BY {_names(key)}"
    size = batch_size(table.name)
    if isinstance(conn, SqliteSession):
        cursor = conn.conn.execute(query)
        cursor.row_factory = None  # plain tuples
        while batch := cursor.fetchmany(size):
            yield batch
    else:
        async with conn.conn.cursor(name="hubbub_export", row_factory=tuple_row) as named:
            named.itersize = size
            await named.execute(query)
            while found := await named.fetchmany(size):
                yield found


async def counters(conn: Conn) -> dict[str, int]:
    """The last id each table's id counter handed out, where the engine keeps one apart
    from the rows (SQLite's ``AUTOINCREMENT``, PostgreSQL's identity sequences)."""
    last = {t: await conn.value(COUNTER, table=t, column=c) for t, c in await _counted(conn)}
    return {table: int(value) for table, value in last.items() if value is not None}


async def clear(conn: Conn, table: str) -> None:
    """Delete a seeded table's rows, to be replaced."""
    await conn.run(_query(f"DELETE FROM {_name(table)}"))


async def insert(conn: Conn, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
    """Insert rows, ids as given; a row the database refuses is ``import_refused``."""
    into = f"{_name(table)} ({_names(columns)})"
    try:
        if isinstance(conn, SqliteSession):
            marks = ", ".join("?" * len(columns))
            conn.conn.executemany(f"INSERT INTO {into} VALUES ({marks})", rows)
        else:
            async with conn.conn.cursor() as cursor, cursor.copy(f"COPY {into} FROM STDIN") as copy:
                for row in rows:
                    await copy.write_row(row)
    except (sqlite3.DatabaseError, psycopg.DataError, psycopg.IntegrityError) as error:
        raise InvalidInput(
            f"{LABELS[conn.dialect.name]} refused a row of {table}: {_reason(error)}",
            code="import_refused",
        ) from None


async def finish(conn: Conn, counters: dict[str, int]) -> dict[str, int]:
    """Move every id counter past both the largest id loaded and ``counters`` (the
    source's); the next id each counter hands out."""
    following: dict[str, int] = {}
    for table, column in await _counted(conn):
        top = _query(f"SELECT coalesce(max({_name(column)}), 0) FROM {_name(table)}")
        largest, counter = int(await conn.value(top)), counters.get(table, 0)
        if isinstance(conn, PostgresSession):
            last = max(largest, counter)
            params = {"table": table, "column": column, "value": max(last, 1), "called": last > 0}
            if await conn.value(ADVANCE, **params) is not None:  # else the table has none
                following[table] = last + 1
            continue
        # SQLite already moved an AUTOINCREMENT counter to the largest id inserted; the
        # source's may be further on (rows deleted since), and is kept so no id comes back.
        # A table without one hands out the largest id + 1.
        autoincrement = counter and await conn.value(AUTOINCREMENT, table=table)
        if autoincrement and not await conn.run(MOVE, table=table, seq=counter):
            await conn.run(START, table=table, seq=counter)  # nothing counted yet
        following[table] = max(largest, int(await conn.value(COUNTER, table=table) or 0)) + 1
    return following


async def _count(conn: Conn, table: str, cap: int | None = None) -> int:
    counted = _name(table) if cap is None else f"(SELECT 1 FROM {_name(table)} LIMIT {cap}) t"
    return int(await conn.value(_query(f"SELECT count(*) FROM {counted}")))


@functools.cache
def _query(sql: str) -> Query:
    """A statement over tables and columns named at run time, kept once rendered."""
    return Query(sql)


def _name(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _names(identifiers: Sequence[str]) -> str:
    return ", ".join(map(_name, identifiers))


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
